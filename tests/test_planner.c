/* The static memory planner. White-box: it checks the planner's offsets directly.
   - random buffer sets: no two buffers live at the same step share a byte, and the
     arena is never below the lower bound;
   - a set whose lower bound is tight at several steps (a ResNet block with Winograd
     scratch): the arena equals the bound;
   - a few hundred random DAGs through the whole stack (builder, file, session, run):
     an independent checker proves the plan sound, a reference interpreter in double
     precision proves in-place reuse and views did not corrupt any value, and the
     arena stays within 1.10x of the lower bound on average;
   - CNN-like and transformer-like graphs: the arena equals the lower bound;
   - the CPU backend's arena allocation (alignment, huge-page boundary, a caller's allocator). */
#define INFER_IMPLEMENTATION
#include "test.h"

static void test_plan_random_buffers(void) {
    int trial;
    double ratio_sum = 0;
    test_seed(11);
    for (trial = 0; trial < 300; trial++) {
        size_t n = (size_t)test_int(1, 120), i, j, arena = 0, lb = 0;
        int32_t steps = (int32_t)test_int(1, 60);
        infer__buf *b = (infer__buf *)calloc(n, sizeof *b);
        for (i = 0; i < n; i++) {
            b[i].first = (int32_t)test_int(0, steps - 1);
            int32_t span = (int32_t)test_int(0, 12); /* INFER__MIN evaluates its arguments twice */
            b[i].last = (int32_t)test_int(b[i].first, INFER__MIN(steps - 1, b[i].first + span));
            b[i].size = (size_t)test_int(1, 64) * 64;
        }
        CHECK(infer__plan(NULL, b, n, steps, &arena, &lb));
        for (i = 0; i < n; i++) {
            CHECK(b[i].offset % 64 == 0 && b[i].offset + b[i].size <= arena);
            for (j = i + 1; j < n; j++)
                if (infer__buf_live_together(&b[i], &b[j]) &&
                    b[i].offset < b[j].offset + b[j].size && b[j].offset < b[i].offset + b[i].size) {
                    printf("  trial %d: buffers %zu and %zu are live together and overlap\n", trial, i, j);
                    test__failed_checks++;
                }
        }
        CHECK(arena >= lb);
        ratio_sum += (double)arena / (double)lb;
        free(b);
    }
    printf("  random buffer sets: mean arena / lower bound = %.4f\n", ratio_sum / 300);
    CHECK(ratio_sum / 300 <= 1.10);
}

/* -- random DAGs -- */

#define DAG_MAX 64
enum { D_ADD, D_MUL, D_SUB, D_RELU, D_NEG, D_TANH, D_CONCAT, D_SLICE, D_RESHAPE, D_SOFTMAX, D_N };

typedef struct dag_val {
    int rows, cols;   /* 2-D [rows][cols] */
    double *v;        /* reference values */
    char name[16];
} dag_val;

typedef struct dag {
    dag_val val[DAG_MAX];
    int n_val;
    int outputs[4], n_outputs;
} dag;

static int dag_add_val(dag *g, int rows, int cols) {
    dag_val *x = &g->val[g->n_val];
    x->rows = rows, x->cols = cols;
    x->v = (double *)calloc((size_t)(rows * cols), sizeof(double));
    snprintf(x->name, sizeof x->name, "v%d", g->n_val);
    return g->n_val++;
}

/* Picks an existing value of the given shape (or -1). */
static int dag_pick_like(const dag *g, int rows, int cols, int not) {
    int tries;
    for (tries = 0; tries < 20; tries++) {
        int k = (int)test_int(0, g->n_val - 1);
        if (k != not && g->val[k].rows == rows && g->val[k].cols == cols) return k;
    }
    return -1;
}

/* Builds a random DAG in b and computes its reference values in g. Returns 0 on a builder failure. */
static int dag_build(dag *g, infer_builder *b, int n_nodes) {
    int i, k;
    int n_in = (int)test_int(1, 3);
    static int64_t zero[1] = {0}, one[1] = {1};
    infer_tensor c0 = {"s0", INFER_DTYPE_I64, 1, {1}, zero, 8}, c1 = {"ax1", INFER_DTYPE_I64, 1, {1}, one, 8};
    memset(g, 0, sizeof *g);
    for (i = 0; i < n_in; i++) {
        int64_t dims[2];
        int v = dag_add_val(g, 4, (int)(8 * test_int(1, 6)));
        dims[0] = g->val[v].rows, dims[1] = g->val[v].cols;
        for (k = 0; k < g->val[v].rows * g->val[v].cols; k++) g->val[v].v[k] = (float)test_uniform(-1, 1);
        if (infer_builder_add_input(b, g->val[v].name, INFER_DTYPE_F32, 2, dims, NULL)) return 0;
    }
    if (infer_builder_add_constant(b, &c0) || infer_builder_add_constant(b, &c1)) return 0;
    for (i = 0; i < n_nodes && g->n_val < DAG_MAX; i++) {
        int op = (int)test_int(0, D_N - 1), a = (int)test_int(0, g->n_val - 1), c2 = -1, o, r, cc;
        const dag_val *A = &g->val[a];
        const char *ins[2], *outs[1];
        infer_attr attr[1];
        int n_attr = 0, n_ins = 1;
        const char *optype = "";
        char nm[32]; /* a constant's name; lives until the node is added */
        double *out;
        if (op <= D_SUB) {
            c2 = dag_pick_like(g, A->rows, A->cols, -1);
            if (c2 < 0) op = D_RELU;
        }
        if (op == D_CONCAT) {
            c2 = (int)test_int(0, g->n_val - 1);
            if (g->val[c2].rows != A->rows || A->cols + g->val[c2].cols > 96) op = D_TANH;
        }
        if (op == D_SLICE && A->cols < 16) op = D_NEG;
        if (op == D_RESHAPE && A->rows % 2) op = D_RELU;
        r = A->rows, cc = A->cols;
        if (op == D_CONCAT) cc = A->cols + g->val[c2].cols;
        if (op == D_SLICE) cc = A->cols / 2;
        if (op == D_RESHAPE) r = A->rows / 2, cc = A->cols * 2;
        o = dag_add_val(g, r, cc);
        A = &g->val[a]; /* dag_add_val does not move values, but keep it obvious */
        out = g->val[o].v;
        ins[0] = A->name;
        outs[0] = g->val[o].name;
        switch (op) {
        case D_ADD: case D_MUL: case D_SUB:
            optype = op == D_ADD ? "Add" : op == D_MUL ? "Mul" : "Sub";
            ins[1] = g->val[c2].name, n_ins = 2;
            for (k = 0; k < r * cc; k++) {
                double x = A->v[k], y = g->val[c2].v[k];
                out[k] = op == D_ADD ? x + y : op == D_MUL ? x * y : x - y;
            }
            break;
        case D_RELU: optype = "Relu"; for (k = 0; k < r * cc; k++) out[k] = A->v[k] < 0 ? 0 : A->v[k]; break;
        case D_NEG: optype = "Neg"; for (k = 0; k < r * cc; k++) out[k] = -A->v[k]; break;
        case D_TANH: optype = "Tanh"; for (k = 0; k < r * cc; k++) out[k] = tanh(A->v[k]); break;
        case D_CONCAT: {
            int rr, j;
            optype = "Concat";
            ins[1] = g->val[c2].name, n_ins = 2;
            attr[0] = infer_attr_int("axis", 1), n_attr = 1;
            for (rr = 0; rr < r; rr++)
                for (j = 0; j < cc; j++)
                    out[rr * cc + j] = j < A->cols ? A->v[rr * A->cols + j] : g->val[c2].v[rr * g->val[c2].cols + j - A->cols];
            break;
        }
        case D_SLICE: {
            int64_t ends[1], one[1] = {1};
            int rr, j;
            infer_tensor t;
            optype = "Slice";
            ends[0] = cc;
            snprintf(nm, sizeof nm, "%s_end", g->val[o].name);
            memset(&t, 0, sizeof t);
            t.dtype = INFER_DTYPE_I64, t.n_dims = 1, t.dims[0] = 1, t.data_bytes = 8;
            t.name = nm, t.data = ends;
            if (infer_builder_add_constant(b, &t)) return 0;
            (void)one;
            {
                const char *sl[4];
                sl[0] = A->name, sl[1] = "s0", sl[2] = nm, sl[3] = "ax1";
                if (infer_builder_add_node(b, optype, NULL, sl, 4, outs, 1, NULL, 0)) return 0;
            }
            for (rr = 0; rr < r; rr++)
                for (j = 0; j < cc; j++) out[rr * cc + j] = A->v[rr * A->cols + j];
            continue;
        }
        case D_RESHAPE: {
            int64_t shape[2];
            infer_tensor t;
            shape[0] = r, shape[1] = cc;
            snprintf(nm, sizeof nm, "%s_shape", g->val[o].name);
            memset(&t, 0, sizeof t);
            t.name = nm, t.dtype = INFER_DTYPE_I64, t.n_dims = 1, t.dims[0] = 2, t.data = shape, t.data_bytes = 16;
            if (infer_builder_add_constant(b, &t)) return 0;
            optype = "Reshape";
            ins[1] = nm, n_ins = 2;
            memcpy(out, A->v, sizeof(double) * (size_t)(r * cc));
            break;
        }
        default: { /* softmax over the rows */
            int rr, j;
            optype = "Softmax";
            for (rr = 0; rr < r; rr++) {
                double mx = -1e300, s = 0;
                for (j = 0; j < cc; j++) mx = fmax(mx, A->v[rr * cc + j]);
                for (j = 0; j < cc; j++) s += exp(A->v[rr * cc + j] - mx);
                for (j = 0; j < cc; j++) out[rr * cc + j] = exp(A->v[rr * cc + j] - mx) / s;
            }
            break;
        }
        }
        /* values go through float in the runtime: round the reference the same way */
        for (k = 0; k < r * cc; k++) out[k] = (float)out[k];
        if (infer_builder_add_node(b, optype, NULL, ins, (size_t)n_ins, outs, 1, n_attr ? attr : NULL, (size_t)n_attr))
            return 0;
    }
    /* outputs: the last value and a couple of random ones (inputs excluded) */
    g->outputs[g->n_outputs++] = g->n_val - 1;
    for (k = 0; k < 2; k++) {
        int v = (int)test_int(n_in, g->n_val - 1), j, dup = 0;
        for (j = 0; j < g->n_outputs; j++) dup |= g->outputs[j] == v;
        if (!dup) g->outputs[g->n_outputs++] = v;
    }
    for (k = 0; k < g->n_outputs; k++)
        if (infer_builder_add_output(b, g->val[g->outputs[k]].name)) return 0;
    return 1;
}

static void dag_free(dag *g) {
    int i;
    for (i = 0; i < g->n_val; i++) free(g->val[i].v);
}

/* Independent check of a session's plan: lifetimes recomputed from the graph, then
   any two arena values (and scratch buffers) whose bytes meet must not be live at the
   same step, except an in-place pair: the input dies at the very step its bytes are
   taken over by the output of an element-wise node. Returns the number of violations. */
static int check_plan(const infer_session *s) {
    const infer_model *m = s->m;
    int32_t *first = (int32_t *)malloc(sizeof(int32_t) * m->n_tensors), *last = (int32_t *)malloc(sizeof(int32_t) * m->n_tensors);
    uint32_t t, u, k, st;
    int bad = 0;
    for (t = 0; t < m->n_tensors; t++) first[t] = INT32_MAX, last[t] = -1;
    for (st = 0; st < s->n_steps; st++) {
        const infer__node *n = &m->nodes[s->steps[st]];
        for (k = 0; k < n->n_out; k++)
            if (n->out[k] != INFER__ABSENT) first[n->out[k]] = INFER__MIN(first[n->out[k]], (int32_t)st), last[n->out[k]] = INFER__MAX(last[n->out[k]], (int32_t)st);
        for (k = 0; k < n->n_in; k++)
            if (n->in[k] != INFER__ABSENT) last[infer__root(s, n->in[k])] = INFER__MAX(last[infer__root(s, n->in[k])], (int32_t)st);
    }
    for (k = 0; k < m->n_outputs; k++) last[infer__root(s, m->outputs[k])] = (int32_t)s->n_steps;
    for (t = 0; t < m->n_tensors; t++) {
        const infer__val *a = &s->vals[t];
        if (a->kind != INFER__VAL_ARENA || a->storage < 0) continue;
        if (a->offset % 64 || a->offset + a->bytes > s->arena_bytes) bad++;
        for (u = t + 1; u < m->n_tensors; u++) {
            const infer__val *b = &s->vals[u];
            int32_t a0 = first[t], a1 = last[t], b0 = first[u], b1 = last[u];
            if (b->kind != INFER__VAL_ARENA || b->storage < 0) continue;
            if (!(a->offset < b->offset + b->bytes && b->offset < a->offset + a->bytes)) continue;
            if (a1 < b0 || b1 < a0) continue; /* never live together */
            if (a1 == b0 || b1 == a0) {        /* the step where one dies and the other is born */
                uint32_t born = a1 == b0 ? u : t, dies = a1 == b0 ? t : u;
                const infer__node *n = &m->nodes[s->steps[a1 == b0 ? b0 : a0]];
                int ok = (infer__ops[n->op].flags & INFER__OPF_INPLACE) && n->out[0] == born &&
                         s->vals[born].offset == s->vals[dies].offset && s->vals[born].bytes == s->vals[dies].bytes;
                for (k = 0, ok = ok && 1; ok && k < 1; k++) {
                    uint32_t j;
                    int reads = 0;
                    for (j = 0; j < n->n_in; j++) reads |= n->in[j] != INFER__ABSENT && (uint32_t)infer__root(s, n->in[j]) == dies;
                    ok = reads;
                }
                if (ok) continue;
            }
            printf("  tensors '%s' [%d,%d] and '%s' [%d,%d] share bytes while both live\n", m->tensors[t].name, a0, a1,
                   m->tensors[u].name, b0, b1);
            bad++;
        }
    }
    for (st = 0; st < s->n_steps; st++) { /* scratch must not meet anything live at its step */
        uint32_t node = s->steps[st];
        if (!s->scratch_bytes[node]) continue;
        for (t = 0; t < m->n_tensors; t++) {
            const infer__val *a = &s->vals[t];
            if (a->kind != INFER__VAL_ARENA || a->storage < 0 || first[t] > (int32_t)st || last[t] < (int32_t)st) continue;
            if (a->offset < s->scratch_off[node] + s->scratch_bytes[node] && s->scratch_off[node] < a->offset + a->bytes) bad++;
        }
    }
    free(first);
    free(last);
    return bad;
}

/* Buffers of a ResNet-50's first block at batch 2 (64 x 64 images, one thread: Winograd
   scratch at steps 3, 9 and 14, a residual live across them): steps 9 and 14 each need
   exactly the lower bound, which the fixed orders miss (1.279x); the jittered passes find
   it. */
static void test_plan_tight_steps(void) {
    static const int64_t t[][3] = {
        {524288, 0, 1},
        {602176, 0, 0},
        {131072, 1, 5},
        {131072, 2, 3},
        {65600, 2, 2},
        {131072, 3, 4},
        {624512, 3, 3},
        {524288, 4, 11},
        {65600, 4, 4},
        {524288, 5, 6},
        {65600, 5, 5},
        {131072, 8, 9},
        {262208, 8, 8},
        {131072, 9, 10},
        {624512, 9, 9},
        {524288, 10, 16},
        {65600, 10, 10},
        {131072, 13, 14},
        {262208, 13, 13},
        {131072, 14, 15},
        {624512, 14, 14},
        {65600, 15, 15},
    };
    infer__buf b[sizeof t / sizeof t[0]];
    size_t n = sizeof t / sizeof t[0], i, arena = 0, lb = 0;
    memset(b, 0, sizeof b);
    for (i = 0; i < n; i++) b[i].size = (size_t)t[i][0], b[i].first = (int32_t)t[i][1], b[i].last = (int32_t)t[i][2];
    CHECK(infer__plan(NULL, b, n, 17, &arena, &lb));
    CHECK(lb == 1410944);
    CHECK(arena == lb);
}

static void test_random_dags(void) {
    int trial, graphs = 0;
    double ratio_sum = 0, worst = 1;
    test_seed(2026);
    for (trial = 0; trial < 300; trial++) {
        dag g;
        infer_builder *b = NULL;
        infer_model *m = NULL;
        infer_session *s = NULL;
        infer_session_options opt;
        infer_tensor feeds[3], outs[4];
        void *file = NULL;
        size_t bytes = 0;
        int i, ok;
        CHECK_OK(infer_builder_create(NULL, &b));
        ok = dag_build(&g, b, (int)test_int(2, 40));
        if (!ok) printf("  trial %d: builder: %s\n", trial, infer_last_error());
        CHECK(ok);
        if (ok && !infer_builder_serialize(b, NULL, 0, &bytes) && !posix_memalign(&file, 64, bytes) &&
            !infer_builder_serialize(b, file, bytes, &bytes)) {
            CHECK_OK(infer_model_load_memory(file, bytes, NULL, &m));
            memset(&opt, 0, sizeof opt);
            opt.n_threads = 1;
            if (m) CHECK_OK(infer_session_create(m, &opt, &s));
        }
        if (s) {
            int n_feeds = 0;
            graphs++;
            CHECK_EQ_INT(check_plan(s), 0);
            CHECK(s->arena_bytes >= s->arena_lower_bound);
            if (s->arena_lower_bound) {
                double r = (double)s->arena_bytes / (double)s->arena_lower_bound;
                ratio_sum += r;
                worst = fmax(worst, r);
            } else {
                ratio_sum += 1;
            }
            for (i = 0; i < g.n_val && n_feeds < 3; i++) {
                float *x;
                int k;
                if (s->vals[i].kind != INFER__VAL_INPUT) break;
                x = (float *)malloc(sizeof(float) * (size_t)(g.val[i].rows * g.val[i].cols));
                for (k = 0; k < g.val[i].rows * g.val[i].cols; k++) x[k] = (float)g.val[i].v[k];
                memset(&feeds[n_feeds], 0, sizeof feeds[n_feeds]);
                feeds[n_feeds].name = g.val[i].name;
                feeds[n_feeds].dtype = INFER_DTYPE_F32;
                feeds[n_feeds].n_dims = 2;
                feeds[n_feeds].dims[0] = g.val[i].rows, feeds[n_feeds].dims[1] = g.val[i].cols;
                feeds[n_feeds].data = x;
                feeds[n_feeds].data_bytes = sizeof(float) * (size_t)(g.val[i].rows * g.val[i].cols);
                n_feeds++;
            }
            for (i = 0; i < g.n_outputs; i++) {
                const dag_val *v = &g.val[g.outputs[i]];
                memset(&outs[i], 0, sizeof outs[i]);
                outs[i].name = v->name;
                outs[i].data_bytes = sizeof(float) * (size_t)(v->rows * v->cols);
                outs[i].data = malloc(outs[i].data_bytes);
            }
            CHECK_OK(infer_run(s, feeds, (size_t)n_feeds, outs, (size_t)g.n_outputs));
            for (i = 0; i < g.n_outputs; i++) {
                const dag_val *v = &g.val[g.outputs[i]];
                char what[64];
                snprintf(what, sizeof what, "trial %d output %s", trial, v->name);
                /* values stay O(1); a corrupted buffer would be off by far more than float rounding */
                {
                    size_t e, off = 0;
                    const float *got = (const float *)outs[i].data;
                    for (e = 0; e < (size_t)(v->rows * v->cols); e++)
                        if (!(fabs(got[e] - v->v[e]) <= 1e-4 * (1 + fabs(v->v[e])))) off++;
                    if (off) printf("  %s: %zu elements off\n", what, off);
                    CHECK(off == 0);
                }
                free(outs[i].data);
            }
            for (i = 0; i < n_feeds; i++) free(feeds[i].data);
        }
        infer_session_free(s);
        infer_model_free(m);
        infer_builder_free(b);
        free(file);
        dag_free(&g);
    }
    printf("  %d random DAGs: mean arena / lower bound = %.4f, worst %.4f\n", graphs, ratio_sum / graphs, worst);
    CHECK(graphs == 300);
    CHECK(ratio_sum / graphs <= 1.10);
}

/* -- typical graphs: arena == lower bound -- */

static int add_const(infer_builder *b, const char *name, int n_dims, const int64_t *dims) {
    infer_tensor t;
    size_t n = 1, i;
    float *d;
    int k, st;
    memset(&t, 0, sizeof t);
    t.name = name, t.dtype = INFER_DTYPE_F32, t.n_dims = n_dims;
    for (k = 0; k < n_dims; k++) t.dims[k] = dims[k], n *= (size_t)dims[k];
    d = (float *)malloc(n * sizeof(float));
    for (i = 0; i < n; i++) d[i] = (float)test_uniform(-0.1, 0.1);
    t.data = d, t.data_bytes = n * sizeof(float);
    st = infer_builder_add_constant(b, &t);
    free(d);
    return st;
}

#define NODE(op, ins, outs, attrs, n_attrs)                                                                       \
    ok = ok && !infer_builder_add_node(b, op, NULL, ins, sizeof(ins) / sizeof(ins[0]), outs, 1, attrs, n_attrs)

/* conv-bn-relu stem, then residual blocks of two 3x3 convs with a skip Add */
static infer_builder *build_cnn(int blocks) {
    infer_builder *b = NULL;
    int64_t xd[4] = {1, 3, 32, 32}, w0[4] = {16, 3, 3, 3}, w[4] = {16, 16, 3, 3}, c16[1] = {16};
    static const int64_t pads[4] = {1, 1, 1, 1};
    infer_attr pa = infer_attr_ints("pads", pads, 4);
    char cur[40] = "x", nm[8][40];
    int i, ok;
    infer_builder_create(NULL, &b);
    ok = !infer_builder_add_input(b, "x", INFER_DTYPE_F32, 4, xd, NULL);
    ok = ok && !add_const(b, "w0", 4, w0) && !add_const(b, "b0", 1, c16);
    {
        const char *ci[3] = {"x", "w0", "b0"}, *co[1] = {"s0"}, *ri[1] = {"s0"}, *ro[1] = {"s1"};
        NODE("Conv", ci, co, &pa, 1);
        NODE("Relu", ri, ro, NULL, 0);
        strcpy(cur, "s1");
    }
    for (i = 0; i < blocks && ok; i++) {
        int k;
        for (k = 0; k < 8; k++) snprintf(nm[k], sizeof nm[k], "blk%d_%d", i, k);
        ok = !add_const(b, nm[0], 4, w) && !add_const(b, nm[1], 1, c16) && !add_const(b, nm[2], 4, w) &&
             !add_const(b, nm[3], 1, c16);
        {
            const char *c1[3] = {cur, nm[0], nm[1]}, *o1[1] = {nm[4]}, *r1[1] = {nm[4]}, *o2[1] = {nm[5]};
            const char *c2[3] = {nm[5], nm[2], nm[3]}, *o3[1] = {nm[6]}, *a1[2] = {nm[6], cur}, *o4[1] = {nm[7]};
            const char *r2[1] = {nm[7]}, *o5[1] = {"tmp"};
            char next[40];
            snprintf(next, sizeof next, "blk%d_out", i);
            o5[0] = next;
            NODE("Conv", c1, o1, &pa, 1);
            NODE("Relu", r1, o2, NULL, 0);
            NODE("Conv", c2, o3, &pa, 1);
            NODE("Add", a1, o4, NULL, 0);
            NODE("Relu", r2, o5, NULL, 0);
            strcpy(cur, next);
        }
    }
    {
        const char *gi[1] = {cur}, *go[1] = {"pool"};
        NODE("GlobalAveragePool", gi, go, NULL, 0);
    }
    ok = ok && !infer_builder_add_output(b, "pool");
    if (!ok) {
        printf("  build_cnn: %s\n", infer_last_error());
        infer_builder_free(b);
        return NULL;
    }
    return b;
}

/* pre-norm transformer encoder layers: LN -> QKV -> heads -> softmax(QK^T) V -> proj -> +x -> LN -> MLP -> +x */
static infer_builder *build_transformer(int layers, int seq, int dm, int heads) {
    infer_builder *b = NULL;
    int64_t xd[3] = {1, seq, dm}, wd[2] = {dm, dm}, w1[2] = {dm, 4 * dm}, w2[2] = {4 * dm, dm}, v[1] = {dm}, v4[1] = {4 * dm};
    int64_t hs[4] = {1, seq, heads, dm / heads}, back[3] = {1, seq, dm}, sd[1] = {4}, bd[1] = {3};
    static const int64_t perm_q[4] = {0, 2, 1, 3}, perm_k[4] = {0, 2, 3, 1};
    infer_attr pq = infer_attr_ints("perm", perm_q, 4), pk = infer_attr_ints("perm", perm_k, 4), ax = infer_attr_int("axis", -1);
    char cur[40] = "x";
    int l, ok;
    infer_tensor t;
    infer_builder_create(NULL, &b);
    ok = !infer_builder_add_input(b, "x", INFER_DTYPE_F32, 3, xd, NULL);
    memset(&t, 0, sizeof t);
    t.name = "heads_shape", t.dtype = INFER_DTYPE_I64, t.n_dims = 1, t.dims[0] = 4, t.data = hs, t.data_bytes = sizeof hs;
    ok = ok && !infer_builder_add_constant(b, &t);
    t.name = "back_shape", t.dims[0] = 3, t.data = back, t.data_bytes = sizeof back;
    ok = ok && !infer_builder_add_constant(b, &t);
    (void)sd, (void)bd;
    for (l = 0; l < layers && ok; l++) {
        char n[32][32];
        int k;
        for (k = 0; k < 32; k++) snprintf(n[k], sizeof n[k], "l%d_%d", l, k);
        /* weights: 0 ln1 scale, 1 ln1 bias, 2 wq, 3 wk, 4 wv, 5 wo, 6 ln2 scale, 7 ln2 bias, 8 w1, 9 b1, 10 w2, 11 b2 */
        ok = !add_const(b, n[0], 1, v) && !add_const(b, n[1], 1, v) && !add_const(b, n[2], 2, wd) &&
             !add_const(b, n[3], 2, wd) && !add_const(b, n[4], 2, wd) && !add_const(b, n[5], 2, wd) &&
             !add_const(b, n[6], 1, v) && !add_const(b, n[7], 1, v) && !add_const(b, n[8], 2, w1) &&
             !add_const(b, n[9], 1, v4) && !add_const(b, n[10], 2, w2) && !add_const(b, n[11], 1, v);
        {
            const char *ln1[3] = {cur, n[0], n[1]}, *o_ln1[1] = {n[12]};
            const char *q[2] = {n[12], n[2]}, *o_q[1] = {n[13]}, *k_[2] = {n[12], n[3]}, *o_k[1] = {n[14]};
            const char *v_[2] = {n[12], n[4]}, *o_v[1] = {n[15]};
            const char *rq[2] = {n[13], "heads_shape"}, *o_rq[1] = {n[16]}, *rk[2] = {n[14], "heads_shape"}, *o_rk[1] = {n[17]};
            const char *rv[2] = {n[15], "heads_shape"}, *o_rv[1] = {n[18]};
            const char *tq[1] = {n[16]}, *o_tq[1] = {n[19]}, *tk[1] = {n[17]}, *o_tk[1] = {n[20]}, *tv[1] = {n[18]}, *o_tv[1] = {n[21]};
            const char *sc[2] = {n[19], n[20]}, *o_sc[1] = {n[22]}, *sm[1] = {n[22]}, *o_sm[1] = {n[23]};
            const char *av[2] = {n[23], n[21]}, *o_av[1] = {n[24]}, *ta[1] = {n[24]}, *o_ta[1] = {n[25]};
            const char *ra[2] = {n[25], "back_shape"}, *o_ra[1] = {n[26]}, *pr[2] = {n[26], n[5]}, *o_pr[1] = {n[27]};
            const char *r1[2] = {n[27], cur}, *o_r1[1] = {n[28]};
            const char *ln2[3] = {n[28], n[6], n[7]}, *o_ln2[1] = {n[29]};
            const char *m1[2] = {n[29], n[8]}, *o_m1[1] = {n[30]}, *b1_[2] = {n[30], n[9]}, *o_b1[1] = {n[31]};
            char g[40], m2o[40], b2o[40], out[40];
            const char *ge[1], *o_ge[1], *m2[2], *o_m2[1], *b2_[2], *o_b2[1], *r2[2], *o_r2[1];
            snprintf(g, sizeof g, "l%d_gelu", l);
            snprintf(m2o, sizeof m2o, "l%d_m2", l);
            snprintf(b2o, sizeof b2o, "l%d_b2o", l);
            snprintf(out, sizeof out, "l%d_out", l);
            ge[0] = n[31], o_ge[0] = g, m2[0] = g, m2[1] = n[10], o_m2[0] = m2o, b2_[0] = m2o, b2_[1] = n[11];
            o_b2[0] = b2o, r2[0] = b2o, r2[1] = n[28], o_r2[0] = out;
            NODE("LayerNormalization", ln1, o_ln1, &ax, 1);
            NODE("MatMul", q, o_q, NULL, 0);
            NODE("MatMul", k_, o_k, NULL, 0);
            NODE("MatMul", v_, o_v, NULL, 0);
            NODE("Reshape", rq, o_rq, NULL, 0);
            NODE("Reshape", rk, o_rk, NULL, 0);
            NODE("Reshape", rv, o_rv, NULL, 0);
            NODE("Transpose", tq, o_tq, &pq, 1);
            NODE("Transpose", tk, o_tk, &pk, 1);
            NODE("Transpose", tv, o_tv, &pq, 1);
            NODE("MatMul", sc, o_sc, NULL, 0);
            NODE("Softmax", sm, o_sm, &ax, 1);
            NODE("MatMul", av, o_av, NULL, 0);
            NODE("Transpose", ta, o_ta, &pq, 1);
            NODE("Reshape", ra, o_ra, NULL, 0);
            NODE("MatMul", pr, o_pr, NULL, 0);
            NODE("Add", r1, o_r1, NULL, 0);
            NODE("LayerNormalization", ln2, o_ln2, &ax, 1);
            NODE("MatMul", m1, o_m1, NULL, 0);
            NODE("Add", b1_, o_b1, NULL, 0);
            NODE("Gelu", ge, o_ge, NULL, 0);
            NODE("MatMul", m2, o_m2, NULL, 0);
            NODE("Add", b2_, o_b2, NULL, 0);
            NODE("Add", r2, o_r2, NULL, 0);
            strcpy(cur, out);
        }
    }
    ok = ok && !infer_builder_add_output(b, cur);
    if (!ok) {
        printf("  build_transformer: %s\n", infer_last_error());
        infer_builder_free(b);
        return NULL;
    }
    return b;
}

static void check_typical(const char *what, infer_builder *b) {
    infer_model *m = NULL;
    infer_session *s = NULL;
    void *file = NULL;
    size_t bytes = 0;
    infer_session_stats st;
    CHECK(b != NULL);
    if (!b) return;
    CHECK_OK(infer_builder_serialize(b, NULL, 0, &bytes));
    CHECK(posix_memalign(&file, 64, bytes) == 0);
    CHECK_OK(infer_builder_serialize(b, file, bytes, &bytes));
    CHECK_OK(infer_model_load_memory(file, bytes, NULL, &m));
    if (m) CHECK_OK(infer_session_create(m, NULL, &s));
    if (s) {
        infer_session_get_stats(s, &st);
        printf("  %s: %zu steps, arena %zu bytes, lower bound %zu, ratio %.4f\n", what, st.n_steps, st.arena_bytes,
               st.arena_lower_bound_bytes, (double)st.arena_bytes / (double)st.arena_lower_bound_bytes);
        CHECK_EQ_INT(check_plan(s), 0);
        CHECK(st.arena_bytes == st.arena_lower_bound_bytes);
    }
    infer_session_free(s);
    infer_model_free(m);
    infer_builder_free(b);
    free(file);
}

static void test_typical_graphs(void) {
    test_seed(5);
    check_typical("cnn, 4 residual blocks", build_cnn(4));
    check_typical("transformer, 2 layers, seq 16, d 32, 4 heads", build_transformer(2, 16, 32, 4));
    check_typical("transformer, 4 layers, seq 64, d 64, 8 heads", build_transformer(4, 64, 64, 8));
}

/* The CPU backend's arena (infer__cpu_alloc): 64-byte aligned below 4 MiB; from 4 MiB, on
   Linux, on a 2 MiB boundary (all of it can be transparent huge pages) with every byte
   writable; through a caller's allocator, whatever it returns. */
static void *counting_alloc(void *user, size_t bytes) {
    ++*(int *)user;
    return malloc(bytes);
}
static void counting_free(void *user, void *p) {
    ++*(int *)user;
    free(p);
}
static void test_arena_alloc(void) {
    static const size_t sizes[] = {1, 4096, ((size_t)4 << 20) - 1, (size_t)4 << 20, ((size_t)6 << 20) + 12345};
    int calls = 0;
    infer_allocator mine = {counting_alloc, counting_free, NULL};
    size_t i;
    mine.user = &calls;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *raw = NULL;
        unsigned char *p = (unsigned char *)infer__cpu_alloc(NULL, sizes[i], &raw);
        CHECK(p != NULL && raw != NULL);
        if (!p) continue;
        CHECK((uintptr_t)p % INFER__ALIGN == 0);
#if INFER__MADV_HUGEPAGE
        if (sizes[i] >= ((size_t)4 << 20)) CHECK((uintptr_t)p % ((size_t)2 << 20) == 0);
#endif
        memset(p, 0x5a, sizes[i]); /* every byte is ours (ASan and valgrind check the bounds) */
        CHECK(p[0] == 0x5a && p[sizes[i] - 1] == 0x5a);
        infer__cpu_free(NULL, raw);
        p = (unsigned char *)infer__cpu_alloc(&mine, sizes[i], &raw);
        CHECK(p != NULL && (uintptr_t)p % INFER__ALIGN == 0);
        if (p) memset(p, 0xa5, sizes[i]);
        infer__cpu_free(&mine, raw);
    }
    CHECK_EQ_INT(calls, 2 * (int)(sizeof sizes / sizeof sizes[0]));
}

int main(void) {
    RUN(test_arena_alloc);
    RUN(test_plan_random_buffers);
    RUN(test_plan_tight_steps);
    RUN(test_random_dags);
    RUN(test_typical_graphs);
    return test_finish();
}
