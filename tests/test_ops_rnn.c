/* tests/test_ops_rnn.c - LSTM, GRU and RNN against references written here in double precision,
   straight from the ONNX equations (the newest opset of each op).

   Each case draws random weights from a fixed seed and runs one node through the builder,
   the file format, the planner and a session. Sizes are odd on purpose (hidden 1, 3, 7, 17;
   input 1..17; seq 1, 3, 7; batch 1, 3), and the sweeps cover every direction, both
   layouts, every optional input present or absent, sequence_lens as a constant and as a
   run-time input (i32 and i64), clip, input_forget, linear_before_reset, the activation
   list with alpha/beta, and every non-empty set of optional outputs.

   The local runner (rnn_run) differs from op_run in one thing: an output may be absent
   ("" in the node's output list), as ONNX allows for Y, Y_h and Y_c. */
#include "test.h"

#define F32 INFER_DTYPE_F32

/* ===== helpers ===== */

static float *uniform(int64_t n, double lo, double hi) {
    float *x = (float *)calloc((size_t)(n > 0 ? n : 1), sizeof(float));
    test_fill(x, (size_t)(n > 0 ? n : 0), lo, hi);
    return x;
}
static double *new_f64(int64_t n) { return (double *)calloc((size_t)(n > 0 ? n : 1), sizeof(double)); }
static const char *dims_str(char *buf, size_t cap, int n, const int64_t *d) {
    size_t k = 0;
    int i;
    k += (size_t)snprintf(buf, cap, "[");
    for (i = 0; i < n && k < cap; i++) k += (size_t)snprintf(buf + k, cap - k, i ? ",%lld" : "%lld", (long long)d[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
    return buf;
}
static int64_t numel(int n, const int64_t *d) {
    int64_t p = 1;
    int i;
    for (i = 0; i < n; i++) p *= d[i];
    return p;
}

/* Like op_run, but output k exists only when bit k of `present` is set; c->out[k] is
   filled for those. n_out is the length of the node's output list. */
static infer_status rnn_run(op_case *c, int n_out, unsigned present) {
    infer_builder *b = NULL;
    infer_model *m = NULL;
    infer_session *s = NULL;
    infer_session_options opt;
    infer_tensor feeds[OP_MAX_IO], outs[OP_MAX_IO];
    const char *in_names[OP_MAX_IO], *out_names[OP_MAX_IO];
    static const char *const names[3] = {"Y", "Y_h", "Y_c"};
    int map[OP_MAX_IO];
    void *file = NULL;
    size_t bytes = 0, n_feeds = 0, n_present = 0, j;
    int i;
    infer_status st;

    memset(c->out, 0, sizeof c->out);
    c->status = INFER_STATUS_OK;
    c->error[0] = '\0';
    if ((st = infer_builder_create(NULL, &b))) return op__fail(c, st);
    for (i = 0; i < c->n_in; i++) {
        const op_input *x = &c->in[i];
        in_names[i] = x->name && x->name[0] ? x->name : "";
        if (!in_names[i][0]) continue;
        if (x->constant) {
            infer_tensor t;
            memset(&t, 0, sizeof t);
            t.name = x->name;
            t.dtype = x->dtype;
            t.n_dims = x->n_dims;
            memcpy(t.dims, x->dims, sizeof t.dims);
            t.data = (void *)x->data;
            t.data_bytes = op_input_bytes(x);
            st = infer_builder_add_constant(b, &t);
        } else {
            st = infer_builder_add_input(b, x->name, x->dtype, x->n_dims, x->dims, NULL);
            memset(&feeds[n_feeds], 0, sizeof feeds[n_feeds]);
            feeds[n_feeds].name = x->name;
            feeds[n_feeds].dtype = x->dtype;
            feeds[n_feeds].n_dims = x->n_dims;
            memcpy(feeds[n_feeds].dims, x->dims, sizeof x->dims);
            feeds[n_feeds].data = (void *)x->data;
            feeds[n_feeds].data_bytes = op_input_bytes(x);
            n_feeds++;
        }
        if (st) goto fail;
    }
    for (i = 0; i < n_out; i++) {
        out_names[i] = (present >> i) & 1 ? names[i] : "";
        if ((present >> i) & 1) map[n_present++] = i;
    }
    if ((st = infer_builder_add_node(b, c->op, "node", in_names, (size_t)c->n_in, out_names, (size_t)n_out, c->attrs,
                                     (size_t)c->n_attrs)))
        goto fail;
    for (j = 0; j < n_present; j++)
        if ((st = infer_builder_add_output(b, names[map[j]]))) goto fail;
    if ((st = infer_builder_serialize(b, NULL, 0, &bytes))) goto fail;
    if (posix_memalign(&file, 64, bytes ? bytes : 64) != 0) file = NULL;
    if (!file) st = INFER_STATUS_OUT_OF_MEMORY;
    if (!file || (st = infer_builder_serialize(b, file, bytes, &bytes))) goto fail;
    if ((st = infer_model_load_memory(file, bytes, NULL, &m))) goto fail;
    memset(&opt, 0, sizeof opt);
    opt.n_threads = c->n_threads ? c->n_threads : 1;
    if ((st = infer_session_create(m, &opt, &s))) goto fail;
    for (j = 0; j < n_present; j++) {
        infer_tensor_info info;
        size_t ob;
        int d;
        if ((st = infer_session_output(s, j, &info))) goto fail;
        ob = infer_dtype_bytes(info.dtype);
        for (d = 0; d < info.n_dims; d++) ob *= (size_t)info.dims[d];
        memset(&outs[j], 0, sizeof outs[j]);
        outs[j].name = names[map[j]];
        outs[j].data = malloc(ob ? ob : 1);
        outs[j].data_bytes = ob;
        c->out[map[j]] = outs[j];
    }
    st = infer_run(s, feeds, n_feeds, outs, n_present);
    for (j = 0; j < n_present; j++) c->out[map[j]] = outs[j];
    if (st) goto fail;
    infer_session_free(s);
    infer_model_free(m);
    infer_builder_free(b);
    free(file);
    return INFER_STATUS_OK;
fail:
    op__fail(c, st);
    infer_session_free(s);
    infer_model_free(m);
    infer_builder_free(b);
    free(file);
    return st;
}

/* Checks output k: f32, dims want[n], values near ref (relative 1e-5). */
static int check_out(const op_case *c, int k, const char *what, int n, const int64_t *want, const double *ref) {
    const infer_tensor *o = &c->out[k];
    char b1[128], b2[128], w2[300];
    if (c->status != INFER_STATUS_OK) {
        printf("  %s: %s: %s\n", what, infer_status_name(c->status), c->error);
        test__failed_checks++;
        return 0;
    }
    if (o->dtype != F32 || o->n_dims != n || memcmp(o->dims, want, sizeof(int64_t) * (size_t)n) != 0) {
        printf("  %s: output %d is %s %s, want f32 %s\n", what, k, infer_dtype_name(o->dtype),
               dims_str(b1, sizeof b1, o->n_dims, o->dims), dims_str(b2, sizeof b2, n, want));
        test__failed_checks++;
        return 0;
    }
    snprintf(w2, sizeof w2, "%s output %d", what, k);
    return test_close(w2, (const float *)o->data, ref, (size_t)numel(n, want), 1e-5);
}

static int check_fail(const op_case *c, const char *what, infer_status want, const char *phrase) {
    if (c->status == want && strstr(c->error, phrase)) return 1;
    printf("  %s: got %s \"%s\"; wanted %s with \"%s\"\n", what, infer_status_name(c->status), c->error,
           infer_status_name(want), phrase);
    test__failed_checks++;
    return 0;
}

/* ===== the reference ===== */

/* One LSTM/GRU/RNN configuration. Zero is the ONNX default for every field but the sizes. */
typedef struct rnn_cfg {
    int lstm;
    int rnn;                    /* the simple RNN (lstm is 0): one gate, no flag */
    int64_t S, B, I, H;         /* seq, batch, input size, hidden size */
    int dir;                    /* 0 forward, 1 reverse, 2 bidirectional */
    int layout;
    int has_b, has_h0, has_c0, has_p;
    int lens;                   /* 0 none, 1 constant, 2 run-time input */
    int lens_i64;
    int x_const;                /* X a constant too (the node is folded at creation) */
    int flag;                   /* input_forget / linear_before_reset */
    float clip;                 /* 0: no attribute */
    const char *acts;           /* NULL: no attribute */
    int n_alpha, n_beta;
    float alpha[6], beta[6];
    int hidden_attr;            /* write hidden_size */
    unsigned outs;              /* present outputs; 0 means all */
    int n_threads;
} rnn_cfg;

static int ieq(const char *a, const char *b) {
    for (; *a && *b; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z') x = (char)(x + 32);
        if (y >= 'A' && y <= 'Z') y = (char)(y + 32);
        if (x != y) return 0;
    }
    return *a == *b;
}

/* The ONNX RNN activation list: name, and whether it takes alpha / beta, with defaults. */
typedef struct ref_act {
    char name[32];
    double alpha, beta;
} ref_act;

static double ref_apply(const ref_act *a, double x) {
    const char *n = a->name;
    if (ieq(n, "Relu")) return x > 0 ? x : 0;
    if (ieq(n, "Tanh")) return (1 - exp(-2 * x)) / (1 + exp(-2 * x));
    if (ieq(n, "Sigmoid")) return 1 / (1 + exp(-x));
    if (ieq(n, "Affine")) return a->alpha * x + a->beta;
    if (ieq(n, "LeakyRelu")) return x >= 0 ? x : a->alpha * x;
    if (ieq(n, "ThresholdedRelu")) return x >= a->alpha ? x : 0;
    if (ieq(n, "ScaledTanh")) return a->alpha * tanh(a->beta * x);
    if (ieq(n, "HardSigmoid")) return fmin(fmax(a->alpha * x + a->beta, 0), 1);
    if (ieq(n, "Elu")) return x >= 0 ? x : a->alpha * (exp(x) - 1);
    if (ieq(n, "Softsign")) return x / (1 + fabs(x));
    if (ieq(n, "Softplus")) return log(1 + exp(x));
    printf("  reference: unknown activation %s\n", n);
    test__failed_checks++;
    return 0;
}

/* Resolves cfg's activation list (defaults, then names, then alpha/beta in order). */
static void ref_acts(const rnn_cfg *g, ref_act *a, int n_total) {
    int per = g->lstm ? 3 : g->rnn ? 1 : 2, i, ia = 0, ib = 0;
    for (i = 0; i < n_total; i++) snprintf(a[i].name, sizeof a[i].name, "%s", g->rnn || i % per ? "Tanh" : "Sigmoid");
    if (g->acts) {
        const char *q = g->acts;
        for (i = 0; i < n_total && *q; i++) {
            size_t l = strcspn(q, ",");
            snprintf(a[i].name, sizeof a[i].name, "%.*s", (int)l, q);
            q += l;
            if (*q == ',') q++;
        }
    }
    for (i = 0; i < n_total; i++) {
        const char *n = a[i].name;
        int ua = ieq(n, "Affine") || ieq(n, "LeakyRelu") || ieq(n, "ThresholdedRelu") || ieq(n, "ScaledTanh") ||
                 ieq(n, "HardSigmoid") || ieq(n, "Elu");
        int ub = ieq(n, "Affine") || ieq(n, "ScaledTanh") || ieq(n, "HardSigmoid");
        a[i].alpha = ieq(n, "LeakyRelu") ? 0.01 : ieq(n, "HardSigmoid") ? 0.2 : 1.0;
        a[i].beta = ieq(n, "HardSigmoid") ? 0.5 : ieq(n, "ScaledTanh") ? 1.0 : 0.0;
        if (ua && ia < g->n_alpha) a[i].alpha = g->alpha[ia++];
        if (ub && ib < g->n_beta) a[i].beta = g->beta[ib++];
    }
}

static double clipv(const rnn_cfg *g, double x) {
    if (g->clip <= 0) return x;
    return x < -g->clip ? -g->clip : x > g->clip ? g->clip : x;
}

/* The data of one case. */
typedef struct rnn_data {
    float *x, *w, *r, *b, *h0, *c0, *p;
    int32_t *lens32;
    int64_t *lens64;
    double *y, *yh, *yc;        /* reference outputs, in the layout asked for */
} rnn_data;

static int64_t lens_of(const rnn_cfg *g, const rnn_data *d, int64_t b) {
    if (!g->lens) return g->S;
    return g->lens_i64 ? d->lens64[b] : d->lens32[b];
}

/* The ONNX equations, one direction, batch entry and time step at a time. */
static void rnn_ref(const rnn_cfg *g, rnn_data *dt) {
    int64_t S = g->S, B = g->B, I = g->I, H = g->H, D = g->dir == 2 ? 2 : 1, G = g->lstm ? 4 : g->rnn ? 1 : 3;
    int per = g->lstm ? 3 : g->rnn ? 1 : 2;
    ref_act acts[6];
    int64_t d, b, step, k, j, q;
    double *h = new_f64(H), *cs = new_f64(H), *pre = new_f64(G * H), *hn = new_f64(H);
    ref_acts(g, acts, per * (int)D);
    memset(dt->y, 0, sizeof(double) * (size_t)(S * D * B * H));
    for (d = 0; d < D; d++) {
        const float *W = dt->w + d * G * H * I, *R = dt->r + d * G * H * H;
        const float *Wb = dt->b ? dt->b + d * 2 * G * H : NULL, *Rb = Wb ? Wb + G * H : NULL;
        const float *P = dt->p ? dt->p + d * 3 * H : NULL;
        const ref_act *f = &acts[d * per], *gg = per > 1 ? &acts[d * per + 1] : NULL, *hh = g->lstm ? &acts[d * per + 2] : NULL;
        int backward = g->dir == 1 || d == 1;
        for (b = 0; b < B; b++) {
            int64_t L = lens_of(g, dt, b);
            int64_t st_off = g->layout ? (b * D + d) * H : (d * B + b) * H;
            for (k = 0; k < H; k++) {
                h[k] = dt->h0 ? dt->h0[st_off + k] : 0;
                cs[k] = dt->c0 ? dt->c0[st_off + k] : 0;
            }
            for (step = 0; step < L; step++) {
                int64_t t = backward ? L - 1 - step : step;
                const float *xt = dt->x + (g->layout ? b * S + t : t * B + b) * I;
                /* the input part and W biases of every gate */
                for (q = 0; q < G * H; q++) {
                    double s = Wb ? Wb[q] : 0;
                    for (j = 0; j < I; j++) s += (double)xt[j] * W[q * I + j];
                    pre[q] = s;
                }
                if (g->lstm) { /* i o f c */
                    for (k = 0; k < H; k++) {
                        double r4[4], it, ft, ct, ot, Ct;
                        for (q = 0; q < 4; q++) {
                            double s = pre[q * H + k] + (Rb ? Rb[q * H + k] : 0);
                            for (j = 0; j < H; j++) s += h[j] * R[(q * H + k) * H + j];
                            r4[q] = s;
                        }
                        it = ref_apply(f, clipv(g, r4[0] + (P ? P[k] * cs[k] : 0)));
                        ft = g->flag ? 1 - it : ref_apply(f, clipv(g, r4[2] + (P ? P[2 * H + k] * cs[k] : 0)));
                        ct = ref_apply(gg, clipv(g, r4[3]));
                        Ct = ft * cs[k] + it * ct;
                        ot = ref_apply(f, clipv(g, r4[1] + (P ? P[H + k] * Ct : 0)));
                        hn[k] = ot * ref_apply(hh, Ct);
                        cs[k] = Ct; /* unit k's cell is read only by unit k */
                    }
                } else if (g->rnn) { /* Ht = f(Xt*(Wi^T) + Ht-1*(Ri^T) + Wbi + Rbi) */
                    for (k = 0; k < H; k++) {
                        double hs = pre[k] + (Rb ? Rb[k] : 0);
                        for (j = 0; j < H; j++) hs += h[j] * R[k * H + j];
                        hn[k] = ref_apply(f, clipv(g, hs));
                    }
                } else { /* z r h */
                    for (k = 0; k < H; k++) {
                        double zs = pre[k] + (Rb ? Rb[k] : 0), rs = pre[H + k] + (Rb ? Rb[H + k] : 0), zt, rt, ht, hs;
                        for (j = 0; j < H; j++) zs += h[j] * R[k * H + j], rs += h[j] * R[(H + k) * H + j];
                        zt = ref_apply(f, clipv(g, zs));
                        rt = ref_apply(f, clipv(g, rs));
                        hs = 0;
                        if (g->flag) { /* rt (.) (Ht-1*(Rh^T) + Rbh) */
                            for (j = 0; j < H; j++) hs += h[j] * R[(2 * H + k) * H + j];
                            hs = rt * (hs + (Rb ? Rb[2 * H + k] : 0));
                        } else { /* (rt (.) Ht-1)*(Rh^T) + Rbh, where r is per row j */
                            double rj;
                            for (j = 0; j < H; j++) {
                                double sj = pre[H + j] + (Rb ? Rb[H + j] : 0);
                                int64_t u;
                                for (u = 0; u < H; u++) sj += h[u] * R[(H + j) * H + u];
                                rj = ref_apply(f, clipv(g, sj));
                                hs += rj * h[j] * R[(2 * H + k) * H + j];
                            }
                            hs += Rb ? Rb[2 * H + k] : 0;
                            (void)rt;
                        }
                        ht = ref_apply(gg, clipv(g, pre[2 * H + k] + hs));
                        hn[k] = (1 - zt) * ht + zt * h[k];
                    }
                }
                for (k = 0; k < H; k++) h[k] = hn[k];
                for (k = 0; k < H; k++) {
                    int64_t yo = g->layout ? ((b * S + t) * D + d) * H : ((t * D + d) * B + b) * H;
                    dt->y[yo + k] = h[k];
                }
            }
            for (k = 0; k < H; k++) {
                dt->yh[st_off + k] = h[k];
                dt->yc[st_off + k] = cs[k];
            }
        }
    }
    free(h);
    free(cs);
    free(pre);
    free(hn);
}

/* ===== running one case ===== */

static void cfg_name(const rnn_cfg *g, char *buf, size_t cap) {
    static const char *const dirs[3] = {"forward", "reverse", "bidirectional"};
    snprintf(buf, cap,
             "%s S%lld B%lld I%lld H%lld %s layout%d b%d h0%d c0%d p%d lens%d%s flag%d clip%g acts=%s outs%u thr%d",
             g->lstm ? "LSTM" : g->rnn ? "RNN" : "GRU", (long long)g->S, (long long)g->B, (long long)g->I, (long long)g->H,
             dirs[g->dir], g->layout, g->has_b, g->has_h0, g->has_c0, g->has_p, g->lens, g->lens_i64 ? "(i64)" : "",
             g->flag, (double)g->clip, g->acts ? g->acts : "-", g->outs, g->n_threads);
}

static const char *const dir_names[3] = {"forward", "reverse", "bidirectional"};

/* Builds the node of cfg with data dt (inputs only) into c. */
static void build_case(op_case *c, const rnn_cfg *g, const rnn_data *dt) {
    int64_t D = g->dir == 2 ? 2 : 1, G = g->lstm ? 4 : g->rnn ? 1 : 3, dims[3];
    int last = 3;
    memset(c, 0, sizeof *c);
    c->op = g->lstm ? "LSTM" : g->rnn ? "RNN" : "GRU";
    dims[0] = g->layout ? g->B : g->S, dims[1] = g->layout ? g->S : g->B, dims[2] = g->I;
    c->in[0] = g->x_const ? op_const("X", F32, 3, dims, dt->x) : op_in("X", F32, 3, dims, dt->x);
    dims[0] = D, dims[1] = G * g->H, dims[2] = g->I;
    c->in[1] = op_const("W", F32, 3, dims, dt->w);
    dims[2] = g->H;
    c->in[2] = op_const("R", F32, 3, dims, dt->r);
    dims[1] = 2 * G * g->H;
    c->in[3] = op_absent();
    if (g->has_b) c->in[3] = op_const("B", F32, 2, dims, dt->b), last = 4;
    c->in[4] = op_absent();
    if (g->lens) {
        const void *lp = g->lens_i64 ? (const void *)dt->lens64 : (const void *)dt->lens32;
        infer_dtype lt = g->lens_i64 ? INFER_DTYPE_I64 : INFER_DTYPE_I32;
        c->in[4] = g->lens == 1 ? op_const("lens", lt, 1, &g->B, lp) : op_in("lens", lt, 1, &g->B, lp);
        last = 5;
    }
    dims[0] = g->layout ? g->B : D, dims[1] = g->layout ? D : g->B, dims[2] = g->H;
    c->in[5] = op_absent();
    if (g->has_h0) c->in[5] = op_in("h0", F32, 3, dims, dt->h0), last = 6;
    if (g->lstm) {
        c->in[6] = op_absent();
        c->in[7] = op_absent();
        if (g->has_c0) c->in[6] = op_in("c0", F32, 3, dims, dt->c0), last = 7;
        dims[0] = D, dims[1] = 3 * g->H;
        if (g->has_p) c->in[7] = op_const("P", F32, 2, dims, dt->p), last = 8;
    }
    c->n_in = last;
    c->attrs[c->n_attrs++] = infer_attr_string("direction", dir_names[g->dir]);
    if (g->hidden_attr) c->attrs[c->n_attrs++] = infer_attr_int("hidden_size", g->H);
    if (g->layout) c->attrs[c->n_attrs++] = infer_attr_int("layout", 1);
    if (g->flag && !g->rnn) c->attrs[c->n_attrs++] = infer_attr_int(g->lstm ? "input_forget" : "linear_before_reset", 1);
    if (g->clip > 0) c->attrs[c->n_attrs++] = infer_attr_float("clip", g->clip);
    if (g->acts) c->attrs[c->n_attrs++] = infer_attr_string("activations", g->acts);
    if (g->n_alpha) c->attrs[c->n_attrs++] = infer_attr_floats("activation_alpha", g->alpha, (size_t)g->n_alpha);
    if (g->n_beta) c->attrs[c->n_attrs++] = infer_attr_floats("activation_beta", g->beta, (size_t)g->n_beta);
    c->n_threads = g->n_threads;
}

static void make_data(const rnn_cfg *g, rnn_data *dt) {
    int64_t D = g->dir == 2 ? 2 : 1, G = g->lstm ? 4 : g->rnn ? 1 : 3, S = g->S, B = g->B, H = g->H, b;
    double ws = 1.0 / sqrt((double)(g->I + H)) + 0.2; /* keeps the gates away from saturation */
    memset(dt, 0, sizeof *dt);
    dt->x = uniform(S * B * g->I, -1, 1);
    dt->w = uniform(D * G * H * g->I, -ws, ws);
    dt->r = uniform(D * G * H * H, -ws, ws);
    if (g->has_b) dt->b = uniform(D * 2 * G * H, -0.5, 0.5);
    if (g->has_h0) dt->h0 = uniform(D * B * H, -1, 1);
    if (g->lstm && g->has_c0) dt->c0 = uniform(D * B * H, -1, 1);
    if (g->lstm && g->has_p) dt->p = uniform(D * 3 * H, -0.5, 0.5);
    dt->lens32 = (int32_t *)calloc((size_t)B + 1, sizeof(int32_t));
    dt->lens64 = (int64_t *)calloc((size_t)B + 1, sizeof(int64_t));
    for (b = 0; b < B; b++) dt->lens64[b] = dt->lens32[b] = S ? (int32_t)test_int(b == 0 ? 1 : 0, S) : 0;
    dt->y = new_f64(S * D * B * H);
    dt->yh = new_f64(D * B * H);
    dt->yc = new_f64(D * B * H);
}

static void free_data(rnn_data *dt) {
    free(dt->x), free(dt->w), free(dt->r), free(dt->b), free(dt->h0), free(dt->c0), free(dt->p);
    free(dt->lens32), free(dt->lens64), free(dt->y), free(dt->yh), free(dt->yc);
}

static int n_cases;

/* Runs cfg against the reference; returns 1 when all present outputs match. */
static int run_cfg(const rnn_cfg *g) {
    rnn_data dt;
    op_case c;
    char what[300];
    int64_t D = g->dir == 2 ? 2 : 1, yd[4], hd[3];
    int n_out = g->lstm ? 3 : 2, ok = 1;
    unsigned outs = g->outs ? g->outs : (1u << n_out) - 1;
    make_data(g, &dt);
    rnn_ref(g, &dt);
    build_case(&c, g, &dt);
    cfg_name(g, what, sizeof what);
    /* the node's output list ends at its last present output */
    rnn_run(&c, outs & 4 ? 3 : outs & 2 ? 2 : 1, outs);
    if (g->layout) yd[0] = g->B, yd[1] = g->S, yd[2] = D;
    else yd[0] = g->S, yd[1] = D, yd[2] = g->B;
    yd[3] = g->H;
    hd[0] = g->layout ? g->B : D, hd[1] = g->layout ? D : g->B, hd[2] = g->H;
    if (c.status != INFER_STATUS_OK) {
        printf("  %s: %s: %s\n", what, infer_status_name(c.status), c.error);
        test__failed_checks++;
        ok = 0;
    } else {
        if (outs & 1) ok &= check_out(&c, 0, what, 4, yd, dt.y);
        if (outs & 2) ok &= check_out(&c, 1, what, 3, hd, dt.yh);
        if (outs & 4) ok &= check_out(&c, 2, what, 3, hd, dt.yc);
    }
    op_free(&c);
    free_data(&dt);
    n_cases++;
    return ok;
}

/* kind: 0 GRU, 1 LSTM, 2 RNN */
static rnn_cfg base(int kind, int64_t S, int64_t B, int64_t I, int64_t H) {
    rnn_cfg g;
    memset(&g, 0, sizeof g);
    g.lstm = kind == 1, g.rnn = kind == 2, g.S = S, g.B = B, g.I = I, g.H = H;
    return g;
}
#define N_OUTS(kind) ((kind) == 1 ? 3 : 2)           /* Y Y_h (Y_c) */
#define N_ACTS(kind) ((kind) == 1 ? 3 : (kind) == 2 ? 1 : 2) /* activations per direction */

static const int64_t hiddens[] = {1, 3, 7, 17};
static const int64_t inputs[] = {1, 2, 5, 17};
static const int64_t seqs[] = {1, 3, 7};
static const int64_t batches[] = {1, 3};

/* ===== tests ===== */

/* Defaults only (forward, Sigmoid/Tanh/Tanh, no optional inputs), over all the sizes. */
static void sizes_sweep(int kind) {
    int a, b, s, n;
    test_seed((unsigned long long)(kind == 2 ? 17 : kind ? 1 : 2));
    for (a = 0; a < 4; a++)
        for (b = 0; b < 4; b++)
            for (s = 0; s < 3; s++)
                for (n = 0; n < 2; n++) {
                    rnn_cfg g = base(kind, seqs[s], batches[n], inputs[b], hiddens[a]);
                    if (!run_cfg(&g)) return;
                }
}
static void test_lstm_sizes(void) { sizes_sweep(1); }
static void test_gru_sizes(void) { sizes_sweep(0); }
static void test_simple_rnn_sizes(void) { sizes_sweep(2); }

/* Every direction x layout x set of outputs, with every optional input present. */
static void dir_layout_outputs(int kind) {
    int dir, layout;
    unsigned outs;
    test_seed((unsigned long long)(kind == 2 ? 18 : kind ? 3 : 4));
    for (dir = 0; dir < 3; dir++)
        for (layout = 0; layout < 2; layout++)
            for (outs = 1; outs < (1u << N_OUTS(kind)); outs++) {
                rnn_cfg g = base(kind, 7, 3, 5, 3);
                g.dir = dir, g.layout = layout, g.outs = outs;
                g.has_b = g.has_h0 = g.has_c0 = g.has_p = 1;
                g.lens = 1 + (int)(outs % 2);
                g.flag = (int)(outs / 2 % 2);
                if (!run_cfg(&g)) return;
            }
}
static void test_lstm_directions_layouts_outputs(void) { dir_layout_outputs(1); }
static void test_gru_directions_layouts_outputs(void) { dir_layout_outputs(0); }
static void test_simple_rnn_directions_layouts_outputs(void) { dir_layout_outputs(2); }

/* Every optional input present or absent (with and without sequence_lens, both ways). */
static void optional_inputs(int kind) {
    int mask, lens;
    test_seed((unsigned long long)(kind == 2 ? 19 : kind ? 5 : 6));
    for (mask = 0; mask < (kind == 1 ? 16 : 4); mask++)
        for (lens = 0; lens < 3; lens++) {
            rnn_cfg g = base(kind, 3, 3, 2, 7);
            g.dir = (mask + lens) % 3;
            g.layout = mask % 2;
            g.has_b = mask & 1, g.has_h0 = (mask >> 1) & 1, g.has_c0 = (mask >> 2) & 1, g.has_p = (mask >> 3) & 1;
            g.lens = lens;
            g.lens_i64 = mask % 3 == 0;
            if (!run_cfg(&g)) return;
        }
}
static void test_lstm_optional_inputs(void) { optional_inputs(1); }
static void test_gru_optional_inputs(void) { optional_inputs(0); }
static void test_simple_rnn_optional_inputs(void) { optional_inputs(2); }

/* Random combinations of everything, sizes from the lists. */
static void random_sweep(int kind, int n) {
    int i, lstm = kind == 1;
    test_seed((unsigned long long)(kind == 2 ? 20 : kind ? 7 : 8));
    for (i = 0; i < n; i++) {
        rnn_cfg g = base(kind, seqs[test_int(0, 2)], batches[test_int(0, 1)], test_int(1, 17), hiddens[test_int(0, 3)]);
        g.dir = (int)test_int(0, 2);
        g.layout = (int)test_int(0, 1);
        g.has_b = (int)test_int(0, 1), g.has_h0 = (int)test_int(0, 1);
        g.has_c0 = lstm && test_int(0, 1), g.has_p = lstm && test_int(0, 1);
        g.lens = (int)test_int(0, 2), g.lens_i64 = (int)test_int(0, 1);
        g.flag = (int)test_int(0, 1);
        g.clip = test_int(0, 2) ? 0.0f : (float)test_uniform(0.3, 2.0);
        g.hidden_attr = (int)test_int(0, 1);
        g.outs = (unsigned)test_int(1, lstm ? 7 : 3);
        g.x_const = test_int(0, 9) == 0;
        if (!run_cfg(&g)) return;
    }
}
static void test_lstm_random(void) { random_sweep(1, 300); }
static void test_gru_random(void) { random_sweep(0, 300); }
static void test_simple_rnn_random(void) { random_sweep(2, 300); }

/* clip that binds (small), with and without the coupled/linear-before-reset variants. */
static void clip_cases(int kind) {
    int flag, dir;
    test_seed((unsigned long long)(kind == 2 ? 21 : kind ? 9 : 10));
    for (flag = 0; flag < 2; flag++)
        for (dir = 0; dir < 3; dir++) {
            rnn_cfg g = base(kind, 7, 3, 17, 17);
            g.dir = dir, g.flag = flag, g.clip = 0.25f;
            g.has_b = g.has_h0 = g.has_c0 = g.has_p = 1;
            if (!run_cfg(&g)) return;
        }
}
static void test_lstm_clip(void) { clip_cases(1); }
static void test_gru_clip(void) { clip_cases(0); }
static void test_simple_rnn_clip(void) { clip_cases(2); }

/* Every activation in every position, alpha/beta given and defaulted, names in any case. */
static void activation_cases(int kind) {
    static const char *const names[] = {"Sigmoid", "Tanh", "Relu", "Affine", "LeakyRelu", "ThresholdedRelu",
                                        "ScaledTanh", "HardSigmoid", "Elu", "Softsign", "Softplus"};
    int per = N_ACTS(kind), a, pos, given;
    char acts[256];
    test_seed((unsigned long long)(kind == 2 ? 22 : kind ? 11 : 12));
    for (a = 0; a < 11; a++)
        for (pos = 0; pos < per; pos++)
            for (given = 0; given < 2; given++) {
                rnn_cfg g = base(kind, 3, 3, 3, 7);
                int i, k = 0;
                g.dir = 2;
                g.has_b = 1;
                g.has_h0 = 1;
                for (i = 0; i < 2 * per; i++) {
                    const char *n = i % per == pos ? names[a] : (i % per || kind == 2 ? "Tanh" : "Sigmoid");
                    if (i == per + pos && a % 2) n = a == 3 ? "aFFINE" : names[(a + 1) % 11]; /* backward differs */
                    k += snprintf(acts + k, sizeof acts - (size_t)k, "%s%s", i ? "," : "", n);
                }
                g.acts = acts;
                if (given) {
                    g.n_alpha = 3, g.n_beta = 2;
                    g.alpha[0] = 0.7f, g.alpha[1] = 0.3f, g.alpha[2] = 1.3f;
                    g.beta[0] = 0.2f, g.beta[1] = 0.6f;
                }
                if (!run_cfg(&g)) return;
            }
}
static void test_lstm_activations(void) { activation_cases(1); }
static void test_gru_activations(void) { activation_cases(0); }
static void test_simple_rnn_activations(void) { activation_cases(2); }

/* All lengths 0: Y is 0 and Y_h / Y_c are the initial state; lengths = seq: no effect. */
static void test_rnn_sequence_lens_edges(void) {
    int lstm, zero;
    test_seed(13);
    for (lstm = 0; lstm < 3; lstm++) /* 0 GRU, 1 LSTM, 2 RNN */
        for (zero = 0; zero < 2; zero++) {
            rnn_cfg g = base(lstm, 3, 3, 2, 3);
            rnn_data dt;
            op_case c;
            int64_t b;
            int k;
            g.dir = 2, g.has_h0 = g.has_c0 = 1, g.lens = 2;
            make_data(&g, &dt);
            for (b = 0; b < 3; b++) dt.lens32[b] = zero ? 0 : 3;
            rnn_ref(&g, &dt);
            build_case(&c, &g, &dt);
            rnn_run(&c, N_OUTS(lstm), (1u << N_OUTS(lstm)) - 1);
            CHECK_EQ_INT(c.status, INFER_STATUS_OK);
            if (c.status == INFER_STATUS_OK) {
                const float *y = (const float *)c.out[0].data, *yh = (const float *)c.out[1].data;
                for (k = 0; zero && k < 3 * 2 * 3 * 3; k++) CHECK(y[k] == 0.0f);
                for (k = 0; zero && k < 2 * 3 * 3; k++) CHECK(yh[k] == dt.h0[k]);
                for (k = 0; zero && lstm == 1 && k < 2 * 3 * 3; k++) CHECK(((const float *)c.out[2].data)[k] == dt.c0[k]);
                check_out(&c, 0, "lens edge", 4, (const int64_t[]){3, 2, 3, 3}, dt.y);
                check_out(&c, 1, "lens edge", 3, (const int64_t[]){2, 3, 3}, dt.yh);
            }
            op_free(&c);
            free_data(&dt);
        }
}

/* Empty sequence (Y_h / Y_c are the initial state) and empty batch. */
static void test_rnn_empty(void) {
    int lstm, dir;
    test_seed(16);
    for (lstm = 0; lstm < 3; lstm++) /* 0 GRU, 1 LSTM, 2 RNN */
        for (dir = 0; dir < 3; dir++) {
            rnn_cfg g = base(lstm, 0, 3, 2, 3);
            g.dir = dir, g.layout = dir == 1, g.has_b = g.has_h0 = g.has_c0 = g.has_p = 1;
            if (!run_cfg(&g)) return;
            g = base(lstm, 3, 0, 2, 3);
            g.dir = dir, g.layout = dir == 2, g.has_b = g.has_h0 = g.has_c0 = 1, g.lens = 2;
            if (!run_cfg(&g)) return;
        }
}

/* More threads give the same bits (one job per direction and batch entry) and the same answer. */
static void test_rnn_threads(void) {
    int lstm;
    test_seed(14);
    for (lstm = 0; lstm < 2; lstm++) {
        rnn_cfg g = base(lstm, 7, 3, 17, 17);
        rnn_data dt;
        op_case c;
        void *one = NULL;
        size_t bytes = 0;
        int nt;
        g.dir = 2, g.has_b = g.has_h0 = 1, g.lens = 2;
        make_data(&g, &dt);
        rnn_ref(&g, &dt);
        for (nt = 1; nt <= 4; nt += 3) {
            build_case(&c, &g, &dt);
            c.n_threads = nt;
            rnn_run(&c, 2, 3);
            CHECK_EQ_INT(c.status, INFER_STATUS_OK);
            if (c.status == INFER_STATUS_OK) {
                int64_t yd[4] = {7, 2, 3, 17};
                check_out(&c, 0, "threads", 4, yd, dt.y);
                if (nt == 1) {
                    bytes = c.out[0].data_bytes;
                    one = malloc(bytes);
                    memcpy(one, c.out[0].data, bytes);
                } else {
                    CHECK(one && c.out[0].data_bytes == bytes && memcmp(one, c.out[0].data, bytes) == 0);
                }
            }
            op_free(&c);
        }
        free(one);
        free_data(&dt);
    }
}

/* Bad shapes, dtypes, attribute values and run-time lengths. */
static void test_rnn_bad_input(void) {
    int lstm;
    for (lstm = 0; lstm < 3; lstm++) { /* 0 GRU, 1 LSTM, 2 RNN */
        rnn_cfg g0 = base(lstm, 3, 3, 5, 7);
        rnn_data dt;
        op_case c;
        int64_t G = lstm == 1 ? 4 : lstm == 2 ? 1 : 3, dims[3];
        float big[4096];
        double x64[64];
        int32_t lens_bad[3] = {1, 4, 2}, lens_neg[3] = {1, -1, 2}, lens_ok[3] = {3, 0, 2};
        float lens_f[3] = {1, 1, 1};
        memset(big, 0, sizeof big);
        memset(x64, 0, sizeof x64);
        test_seed(15);
        g0.has_b = g0.has_h0 = g0.has_c0 = g0.has_p = 1;
        g0.lens = 2;
        make_data(&g0, &dt);

        /* W [1, G*H, I+1] */
        build_case(&c, &g0, &dt);
        dims[0] = 1, dims[1] = G * 7, dims[2] = 6;
        c.in[1] = op_const("W", F32, 3, dims, big);
        rnn_run(&c, 1, 1);
        check_fail(&c, "W shape", INFER_STATUS_SHAPE, "input 1 (W)");
        op_free(&c);
        /* W with 2 directions for a forward node */
        build_case(&c, &g0, &dt);
        dims[0] = 2, dims[1] = G * 7, dims[2] = 5;
        c.in[1] = op_const("W", F32, 3, dims, big);
        rnn_run(&c, 1, 1);
        check_fail(&c, "W directions", INFER_STATUS_SHAPE, "input 1 (W)");
        op_free(&c);
        /* R [1, G*H, H+1] */
        build_case(&c, &g0, &dt);
        dims[0] = 1, dims[1] = G * 7, dims[2] = 8;
        c.in[2] = op_const("R", F32, 3, dims, big);
        rnn_run(&c, 1, 1);
        check_fail(&c, "R shape", INFER_STATUS_SHAPE, "expected [1,");
        op_free(&c);
        /* R 2-D */
        build_case(&c, &g0, &dt);
        dims[0] = G * 7, dims[1] = 7;
        c.in[2] = op_const("R", F32, 2, dims, big);
        rnn_run(&c, 1, 1);
        check_fail(&c, "R rank", INFER_STATUS_SHAPE, "must be 3-D");
        op_free(&c);
        /* B [1, G*H] (should be 2*G*H) */
        build_case(&c, &g0, &dt);
        dims[0] = 1, dims[1] = G * 7;
        c.in[3] = op_const("B", F32, 2, dims, big);
        rnn_run(&c, 1, 1);
        check_fail(&c, "B shape", INFER_STATUS_SHAPE, "input 3 (B)");
        op_free(&c);
        /* initial_h in the other layout */
        build_case(&c, &g0, &dt);
        dims[0] = 3, dims[1] = 1, dims[2] = 7;
        c.in[5] = op_in("h0", F32, 3, dims, big);
        rnn_run(&c, 1, 1);
        check_fail(&c, "initial_h shape", INFER_STATUS_SHAPE, "input 5 (initial_h)");
        op_free(&c);
        /* sequence_lens of the wrong length */
        build_case(&c, &g0, &dt);
        dims[0] = 2;
        c.in[4] = op_in("lens", INFER_DTYPE_I32, 1, dims, lens_ok);
        rnn_run(&c, 1, 1);
        check_fail(&c, "lens shape", INFER_STATUS_SHAPE, "input 4 (sequence_lens)");
        op_free(&c);
        if (lstm == 1) {
            /* P [1, 4H] */
            build_case(&c, &g0, &dt);
            dims[0] = 1, dims[1] = 28;
            c.in[7] = op_const("P", F32, 2, dims, big);
            rnn_run(&c, 1, 1);
            check_fail(&c, "P shape", INFER_STATUS_SHAPE, "input 7 (P)");
            op_free(&c);
        }
        /* hidden_size that disagrees with R */
        build_case(&c, &g0, &dt);
        c.attrs[c.n_attrs++] = infer_attr_int("hidden_size", 6);
        rnn_run(&c, 1, 1);
        check_fail(&c, "hidden_size", INFER_STATUS_SHAPE, "input 1 (W)");
        op_free(&c);
        /* X f64, W f64 and sequence_lens f32 */
        build_case(&c, &g0, &dt);
        dims[0] = 3, dims[1] = 3, dims[2] = 5;
        c.in[0] = op_in("X", INFER_DTYPE_F64, 3, dims, x64);
        rnn_run(&c, 1, 1);
        check_fail(&c, "X dtype", INFER_STATUS_UNSUPPORTED, "input 0 has dtype f64");
        op_free(&c);
        build_case(&c, &g0, &dt);
        c.in[1].dtype = INFER_DTYPE_F64;
        c.in[1].data = big;
        rnn_run(&c, 1, 1);
        check_fail(&c, "W dtype", INFER_STATUS_UNSUPPORTED, "input 1 has dtype f64");
        op_free(&c);
        build_case(&c, &g0, &dt);
        dims[0] = 3;
        c.in[4] = op_in("lens", F32, 1, dims, lens_f);
        rnn_run(&c, 1, 1);
        check_fail(&c, "lens dtype", INFER_STATUS_UNSUPPORTED, "input 4 has dtype f32");
        op_free(&c);
        /* unknown activation; wrong number of activations */
        build_case(&c, &g0, &dt);
        c.attrs[c.n_attrs++] = infer_attr_string("activations", lstm == 1 ? "Sigmoid,Swish,Tanh" : lstm == 2 ? "Swish" : "Sigmoid,Swish");
        rnn_run(&c, 1, 1);
        check_fail(&c, "activation", INFER_STATUS_UNSUPPORTED, "activation 'Swish' is not supported");
        op_free(&c);
        build_case(&c, &g0, &dt);
        c.attrs[c.n_attrs++] = infer_attr_string("activations", "Sigmoid,Tanh,Tanh,Tanh");
        rnn_run(&c, 1, 1);
        check_fail(&c, "activation count", INFER_STATUS_SHAPE, "activations lists 4 functions");
        op_free(&c);
        /* direction, layout, clip */
        build_case(&c, &g0, &dt);
        c.attrs[0] = infer_attr_string("direction", "backward");
        rnn_run(&c, 1, 1);
        check_fail(&c, "direction", INFER_STATUS_UNSUPPORTED, "direction='backward'");
        op_free(&c);
        build_case(&c, &g0, &dt);
        c.attrs[c.n_attrs++] = infer_attr_int("layout", 2);
        rnn_run(&c, 1, 1);
        check_fail(&c, "layout", INFER_STATUS_UNSUPPORTED, "layout=2");
        op_free(&c);
        build_case(&c, &g0, &dt);
        c.attrs[c.n_attrs++] = infer_attr_float("clip", -1.0f);
        rnn_run(&c, 1, 1);
        check_fail(&c, "clip", INFER_STATUS_SHAPE, "clip -1 must be > 0");
        op_free(&c);
        /* run-time lengths over seq and below 0: the kernel refuses them */
        build_case(&c, &g0, &dt);
        c.in[4].data = lens_bad;
        rnn_run(&c, 1, 1);
        check_fail(&c, "lens > seq", INFER_STATUS_INVALID_ARGUMENT, "sequence_lens[1] = 4 is outside [0, 3]");
        op_free(&c);
        build_case(&c, &g0, &dt);
        c.in[4].data = lens_neg;
        rnn_run(&c, 2, 3);
        check_fail(&c, "lens < 0", INFER_STATUS_INVALID_ARGUMENT, "sequence_lens[1] = -1 is outside [0, 3]");
        op_free(&c);
        /* a constant bad length fails when the session is created */
        build_case(&c, &g0, &dt);
        c.in[4].data = lens_bad;
        c.in[4].constant = 1;
        rnn_run(&c, 1, 1);
        check_fail(&c, "const lens > seq", INFER_STATUS_INVALID_ARGUMENT, "sequence_lens[1] = 4");
        op_free(&c);
        /* an attribute the op does not have */
        build_case(&c, &g0, &dt);
        c.attrs[c.n_attrs++] = infer_attr_int(lstm ? "linear_before_reset" : "input_forget", 1);
        rnn_run(&c, 1, 1);
        CHECK_EQ_INT(c.status, INFER_STATUS_UNSUPPORTED);
        op_free(&c);
        free_data(&dt);
    }
}

static void test_rnn_case_count(void) {
    printf("  %d LSTM/GRU/RNN cases checked against the reference\n", n_cases);
    CHECK(n_cases > 1000);
}

int main(void) {
    RUN(test_lstm_sizes);
    RUN(test_gru_sizes);
    RUN(test_lstm_directions_layouts_outputs);
    RUN(test_gru_directions_layouts_outputs);
    RUN(test_lstm_optional_inputs);
    RUN(test_gru_optional_inputs);
    RUN(test_lstm_random);
    RUN(test_gru_random);
    RUN(test_lstm_clip);
    RUN(test_gru_clip);
    RUN(test_lstm_activations);
    RUN(test_gru_activations);
    RUN(test_simple_rnn_sizes);
    RUN(test_simple_rnn_directions_layouts_outputs);
    RUN(test_simple_rnn_optional_inputs);
    RUN(test_simple_rnn_random);
    RUN(test_simple_rnn_clip);
    RUN(test_simple_rnn_activations);
    RUN(test_rnn_sequence_lens_edges);
    RUN(test_rnn_empty);
    RUN(test_rnn_threads);
    RUN(test_rnn_bad_input);
    RUN(test_rnn_case_count);
    return test_finish();
}
