/* The device-backend interface (infer_backend, infer_register_backend), tested without a
   GPU: a fake device implemented here with host memory, built so that a missing or
   misplaced copy shows.

   - "Device memory" holds every byte XORed with a key, so a CPU kernel that reads device
     memory directly, or a device op that reads host memory, computes on garbage; every
     pointer a device op or copy is given must also lie inside one of this device's
     allocations (g_bad counts those that do not).
   - The device is a stream: run() and copy_in() only enqueue (copy_in stages the host bytes
     at once, as the interface allows); sync() and copy_out() execute what is queued. An
     executor that copies out before the work is done, or reads results without a sync,
     gets stale bytes.
   - It supports Add, Mul (f32, trailing broadcast), Relu, LeakyRelu (its alpha attribute)
     and 2-D MatMul (optional bias, fused activation "Relu" only), so models mix device
     nodes and CPU fallback nodes; graph_begin/graph_end capture a run and replay it by
     recomputing.
   - Device collectives (comm_create/attach/destroy) for tensor parallelism: AllReduce
     only, run at once through the rank's host communicator (its AllGather stays on the
     CPU), after the host barrier the interface asks for.
   Every model is checked against a plain CPU session; counters prove that every open,
   allocation, upload and prepare is undone when the session is freed. */
#include "tp_models.h"

/* -- the fake device -- */

#define KEY 0xA5u
#define MAX_ALLOCS 1024
#define MAX_QUEUE 256
#define MAX_CAPTURE 64

typedef struct fake_alloc {
    uint8_t *p;
    size_t n;
    int dev;
} fake_alloc;

typedef struct fake_cmd {
    const infer_backend_op *op; /* a node, or NULL for a copy_in */
    uint8_t *dst;
    uint8_t *staged;
    size_t n;
} fake_cmd;

typedef struct fake_dev {
    int id, index;                 /* index: the device number open() was given */
    const infer_comm *host;        /* comm_attach's: its AllReduce goes through it */
    int rank;
    fake_cmd queue[MAX_QUEUE];
    int n_queue;
    const infer_backend_op *capture[MAX_CAPTURE];
    int n_capture, capturing, capture_failed, have_capture;
    uint64_t capture_plan;
} fake_dev;

static fake_alloc g_allocs[MAX_ALLOCS];
static int g_bad;                 /* pointers a device call got that are not device memory */
static int g_open, g_close, g_alloc, g_free, g_upload, g_release, g_prepare, g_unprepare;
static int g_run, g_sync, g_copy_in, g_copy_out, g_graph_begin, g_graph_end, g_replay;
static int g_fail_open, g_fail_upload, g_support_none, g_next_dev;
static const char *g_fail_prepare; /* node name whose prepare() fails */
static const char *g_fail_run; /* node name whose run() fails */
static int g_fail_run_on;       /* 0: on every device, else only on device number g_fail_run_on - 1 */
static int g_user_token;
static int g_groups, g_fail_group, g_dev_allreduce; /* groups alive, injected failure, rank 0's AllReduces */

static void fake_reset(void) {
    g_bad = g_open = g_close = g_alloc = g_free = g_upload = g_release = g_prepare = g_unprepare = 0;
    g_run = g_sync = g_copy_in = g_copy_out = g_graph_begin = g_graph_end = g_replay = 0;
    g_fail_open = g_fail_upload = g_support_none = 0;
    g_fail_run = g_fail_prepare = NULL;
}

static void *dev_malloc(fake_dev *d, size_t n) {
    int i;
    for (i = 0; i < MAX_ALLOCS; i++)
        if (!g_allocs[i].p) {
            g_allocs[i].p = (uint8_t *)malloc(n ? n : 1);
            g_allocs[i].n = n;
            g_allocs[i].dev = d->id;
            return g_allocs[i].p;
        }
    return NULL;
}
static void dev_mfree(const void *p) {
    int i;
    for (i = 0; i < MAX_ALLOCS; i++)
        if (g_allocs[i].p && g_allocs[i].p == p) {
            free(g_allocs[i].p);
            g_allocs[i].p = NULL;
            return;
        }
    g_bad++; /* not ours */
}
static int live_allocs(void) {
    int i, n = 0;
    for (i = 0; i < MAX_ALLOCS; i++) n += g_allocs[i].p != NULL;
    return n;
}
/* 1 when [p, p + n) lies in one allocation of device d; counts a bad pointer otherwise */
static int dev_owns(const fake_dev *d, const void *p, size_t n) {
    int i;
    const uint8_t *q = (const uint8_t *)p;
    for (i = 0; i < MAX_ALLOCS; i++)
        if (g_allocs[i].p && g_allocs[i].dev == d->id && q >= g_allocs[i].p && n <= g_allocs[i].n &&
            (size_t)(q - g_allocs[i].p) <= g_allocs[i].n - n)
            return 1;
    g_bad++;
    return 0;
}
static void encode(uint8_t *dst, const void *src, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) dst[i] = (uint8_t)(((const uint8_t *)src)[i] ^ KEY);
}
static void decode(void *dst, const uint8_t *src, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) ((uint8_t *)dst)[i] = (uint8_t)(src[i] ^ KEY);
}
static size_t numel(const infer_tensor *t) {
    size_t n = 1;
    int i;
    for (i = 0; i < t->n_dims; i++) n *= (size_t)t->dims[i];
    return n;
}
/* a device tensor's floats, decoded into malloc'd memory */
static float *get(const fake_dev *d, const infer_tensor *t) {
    float *x = (float *)calloc(numel(t) + 1, sizeof(float));
    if (t->data_bytes && dev_owns(d, t->data, t->data_bytes)) decode(x, (const uint8_t *)t->data, t->data_bytes);
    return x;
}
static void put(const fake_dev *d, const infer_tensor *t, float *x) {
    if (t->data_bytes && dev_owns(d, t->data, t->data_bytes)) encode((uint8_t *)t->data, x, t->data_bytes);
    free(x);
}

/* The node's work (at sync time): inputs decoded first, so in-place outputs are fine. */
static void exec_op(const fake_dev *d, const infer_backend_op *op) {
    const infer_tensor *y = &op->outputs[0];
    size_t i, n = numel(y);
    float *a = get(d, &op->inputs[0]), *out = (float *)calloc(n + 1, sizeof(float));
    if (!strcmp(op->op_type, "Add") || !strcmp(op->op_type, "Mul")) {
        float *b = get(d, &op->inputs[1]);
        size_t na = numel(&op->inputs[0]), nb = numel(&op->inputs[1]);
        for (i = 0; i < n; i++) out[i] = op->op_type[0] == 'A' ? a[i % na] + b[i % nb] : a[i % na] * b[i % nb];
        free(b);
    } else if (!strcmp(op->op_type, "Relu")) {
        for (i = 0; i < n; i++) out[i] = a[i] > 0 ? a[i] : 0;
    } else if (!strcmp(op->op_type, "LeakyRelu")) {
        float alpha = infer_backend_attr_float(op, "alpha", 0.01f);
        for (i = 0; i < n; i++) out[i] = a[i] >= 0 ? a[i] : alpha * a[i];
    } else if (!strcmp(op->op_type, "MatMul")) {
        float *b = get(d, &op->inputs[1]), *bias = NULL;
        size_t M = (size_t)y->dims[0], N = (size_t)y->dims[1], K = (size_t)op->inputs[0].dims[1], r, c, k;
        int relu = !strcmp(infer_backend_attr_string(op, "activation", "None"), "Relu");
        if (op->n_inputs > 2 && op->inputs[2].data) bias = get(d, &op->inputs[2]);
        for (r = 0; r < M; r++)
            for (c = 0; c < N; c++) {
                float s = 0;
                for (k = 0; k < K; k++) s += a[r * K + k] * b[k * N + c];
                if (bias) s += bias[c];
                out[r * N + c] = relu && s < 0 ? 0 : s;
            }
        free(b);
        free(bias);
    }
    free(a);
    put(d, y, out);
}

static void flush(fake_dev *d) {
    int i;
    for (i = 0; i < d->n_queue; i++) {
        fake_cmd *c = &d->queue[i];
        if (c->op) {
            exec_op(d, c->op);
        } else {
            if (dev_owns(d, c->dst, c->n)) memcpy(c->dst, c->staged, c->n);
            free(c->staged);
        }
    }
    d->n_queue = 0;
}
static void enqueue(fake_dev *d, const infer_backend_op *op, uint8_t *dst, uint8_t *staged, size_t n) {
    if (d->n_queue == MAX_QUEUE) flush(d);
    d->queue[d->n_queue].op = op;
    d->queue[d->n_queue].dst = dst;
    d->queue[d->n_queue].staged = staged;
    d->queue[d->n_queue++].n = n;
}

static int fake_count(void *user) {
    if (user != &g_user_token) g_bad++;
    return 2;
}
static infer_status fake_open(void *user, int device, void **dev, char *err, size_t err_size) {
    fake_dev *d;
    if (user != &g_user_token) g_bad++;
    if (g_fail_open) {
        snprintf(err, err_size, "injected open failure on device %d", device);
        return INFER_STATUS_BACKEND;
    }
    d = (fake_dev *)calloc(1, sizeof *d);
    d->id = ++g_next_dev;
    d->index = device;
    *dev = d;
    g_open++;
    return INFER_STATUS_OK;
}
static void fake_close(void *dev) {
    fake_dev *d = (fake_dev *)dev;
    flush(d);
    free(d);
    g_close++;
}
static void *fake_alloc_fn(void *dev, size_t bytes) {
    g_alloc++;
    return dev_malloc((fake_dev *)dev, bytes);
}
static void fake_free_fn(void *dev, void *p) {
    (void)dev;
    g_free++;
    dev_mfree(p);
}
static const void *fake_upload(void *dev, const void *host, size_t bytes) {
    uint8_t *p;
    if (g_fail_upload) return NULL;
    p = (uint8_t *)dev_malloc((fake_dev *)dev, bytes);
    if (p) encode(p, host, bytes);
    g_upload++;
    return p;
}
static void fake_release(void *dev, const void *d) {
    (void)dev;
    g_release++;
    dev_mfree(d);
}
static infer_status fake_copy_in(void *dev, void *dst, const void *host, size_t bytes, char *err, size_t err_size) {
    uint8_t *staged = (uint8_t *)malloc(bytes ? bytes : 1);
    (void)err, (void)err_size;
    encode(staged, host, bytes); /* the host bytes may be reused at once */
    enqueue((fake_dev *)dev, NULL, (uint8_t *)dst, staged, bytes);
    g_copy_in++;
    return INFER_STATUS_OK;
}
static infer_status fake_copy_out(void *dev, void *host, const void *src, size_t bytes, char *err, size_t err_size) {
    fake_dev *d = (fake_dev *)dev;
    (void)err, (void)err_size;
    flush(d); /* ordered after what was enqueued, like a copy on the stream */
    if (dev_owns(d, src, bytes)) decode(host, (const uint8_t *)src, bytes);
    g_copy_out++;
    return INFER_STATUS_OK;
}
static int all_f32(const infer_backend_op *op) {
    size_t i;
    for (i = 0; i < op->n_inputs; i++)
        if (op->inputs[i].data && op->inputs[i].dtype != INFER_DTYPE_F32) return 0;
    return op->outputs[0].dtype == INFER_DTYPE_F32;
}
/* each input's dims are the trailing dims of the output */
static int trailing(const infer_backend_op *op) {
    size_t i;
    const infer_tensor *y = &op->outputs[0];
    for (i = 0; i < op->n_inputs; i++) {
        const infer_tensor *x = &op->inputs[i];
        int k;
        if (x->n_dims > y->n_dims) return 0;
        for (k = 0; k < x->n_dims; k++)
            if (x->dims[x->n_dims - 1 - k] != y->dims[y->n_dims - 1 - k]) return 0;
    }
    return 1;
}
static int fake_supports(void *dev, const infer_backend_op *op) {
    fake_dev *d = (fake_dev *)dev;
    size_t i;
    for (i = 0; i < op->n_inputs + op->n_outputs; i++) { /* every pointer it is shown is on this device */
        const infer_tensor *t = i < op->n_inputs ? &op->inputs[i] : &op->outputs[i - op->n_inputs];
        if (t->data_bytes) dev_owns(d, t->data, t->data_bytes);
        else if (i < op->n_inputs && t->data) g_bad++; /* absent: data NULL */
    }
    if (g_support_none || !all_f32(op)) return 0;
    if (!strcmp(op->op_type, "Add") || !strcmp(op->op_type, "Mul")) return op->n_inputs == 2 && trailing(op);
    if (!strcmp(op->op_type, "Relu") || !strcmp(op->op_type, "LeakyRelu")) return 1;
    if (!strcmp(op->op_type, "AllReduce")) return d->host != NULL;
    if (!strcmp(op->op_type, "MatMul")) {
        const char *act = infer_backend_attr_string(op, "activation", "None");
        return op->inputs[0].n_dims == 2 && op->inputs[1].n_dims == 2 && (!strcmp(act, "None") || !strcmp(act, "Relu")) &&
               (op->n_inputs < 3 || !op->inputs[2].data || op->inputs[2].n_dims == 1);
    }
    return 0;
}
static infer_status fake_prepare(void *dev, const infer_backend_op *op, void **state, char *err, size_t err_size) {
    (void)dev;
    if (*state != NULL) g_bad++; /* starts NULL */
    if (g_fail_prepare && !strcmp(op->name, g_fail_prepare)) {
        snprintf(err, err_size, "injected prepare failure");
        return INFER_STATUS_UNSUPPORTED;
    }
    *state = malloc(strlen(op->name) + 1);
    strcpy((char *)*state, op->name);
    g_prepare++;
    return INFER_STATUS_OK;
}
static void fake_unprepare(void *dev, void *state) {
    (void)dev;
    free(state);
    g_unprepare++;
}
static infer_status fake_run(void *dev, const infer_backend_op *op, void *state, char *err, size_t err_size) {
    fake_dev *d = (fake_dev *)dev;
    g_run++;
    if (!state || strcmp((const char *)state, op->name)) g_bad++; /* prepare()'s state for this node */
    if (g_fail_run && !strcmp(op->name, g_fail_run) && (!g_fail_run_on || d->index == g_fail_run_on - 1)) {
        snprintf(err, err_size, "injected failure");
        if (d->capturing) d->capture_failed = 1;
        return INFER_STATUS_BACKEND;
    }
    if (!strcmp(op->op_type, "AllReduce")) { /* at once, as a synchronous device would: its queue first */
        float *x;
        infer_status st;
        if (d->capturing) d->capture_failed = 1, g_bad++; /* the executor captures no run with these */
        if (d->host->barrier(d->host->user)) {
            snprintf(err, err_size, "another device stopped");
            return INFER_STATUS_BACKEND;
        }
        flush(d);
        x = get(d, &op->inputs[0]);
        st = d->host->allreduce_sum_f32(d->host->user, x, numel(&op->outputs[0]));
        put(d, &op->outputs[0], x);
        if (d->rank == 0) g_dev_allreduce++;
        return st;
    }
    if (d->capturing && d->n_capture < MAX_CAPTURE) d->capture[d->n_capture++] = op;
    enqueue(d, op, NULL, NULL, 0);
    return INFER_STATUS_OK;
}

typedef struct fake_group {
    int n, devices[8];
} fake_group;
static void *fake_comm_create(void *user, const int *devices, int n, char *err, size_t err_size) {
    fake_group *g;
    int r;
    if (user != &g_user_token || n < 2 || n > 8) g_bad++;
    if (g_fail_group) {
        snprintf(err, err_size, "injected group failure");
        return NULL;
    }
    g = (fake_group *)calloc(1, sizeof *g);
    g->n = n;
    for (r = 0; r < n && r < 8; r++) g->devices[r] = devices[r];
    g_groups++;
    return g;
}
static infer_status fake_comm_attach(void *dev, void *group, int rank, const infer_comm *host, char *err,
                                     size_t err_size) {
    fake_dev *d = (fake_dev *)dev;
    fake_group *g = (fake_group *)group;
    if (rank < 0 || rank >= g->n || g->devices[rank] != d->index || !host || host->rank != rank || !host->barrier) {
        snprintf(err, err_size, "rank %d is not this device's", rank);
        return INFER_STATUS_INVALID_ARGUMENT;
    }
    d->host = host;
    d->rank = rank;
    return INFER_STATUS_OK;
}
static void fake_comm_destroy(void *user, void *group) {
    if (user != &g_user_token || g_open != g_close) g_bad++; /* after every rank's close */
    free(group);
    g_groups--;
}
static infer_status fake_sync(void *dev, char *err, size_t err_size) {
    (void)err, (void)err_size;
    flush((fake_dev *)dev);
    g_sync++;
    return INFER_STATUS_OK;
}
static int fake_graph_begin(void *dev, uint64_t plan_id) {
    fake_dev *d = (fake_dev *)dev;
    int i;
    g_graph_begin++;
    if (d->capturing) g_bad++; /* a begin without an end */
    if (d->have_capture && d->capture_plan == plan_id) { /* replay: recompute the captured nodes */
        for (i = 0; i < d->n_capture; i++) enqueue(d, d->capture[i], NULL, NULL, 0);
        g_replay++;
        d->capturing = 2; /* replaying: no node calls may come */
        return 1;
    }
    d->capturing = 1;
    d->n_capture = d->capture_failed = d->have_capture = 0;
    d->capture_plan = plan_id;
    return 0;
}
static infer_status fake_graph_end(void *dev, char *err, size_t err_size) {
    fake_dev *d = (fake_dev *)dev;
    (void)err, (void)err_size;
    g_graph_end++;
    if (!d->capturing) g_bad++;
    if (d->capturing == 1) d->have_capture = !d->capture_failed;
    d->capturing = 0;
    return INFER_STATUS_OK;
}

static infer_backend fake_backend(int with_graph) {
    infer_backend b;
    memset(&b, 0, sizeof b);
    b.name = "fake";
    b.user = &g_user_token;
    b.device_count = fake_count;
    b.open = fake_open;
    b.close = fake_close;
    b.alloc = fake_alloc_fn;
    b.free = fake_free_fn;
    b.upload = fake_upload;
    b.release = fake_release;
    b.copy_in = fake_copy_in;
    b.copy_out = fake_copy_out;
    b.supports = fake_supports;
    b.prepare = fake_prepare;
    b.unprepare = fake_unprepare;
    b.run = fake_run;
    b.sync = fake_sync;
    if (with_graph) {
        b.graph_begin = fake_graph_begin;
        b.graph_end = fake_graph_end;
    }
    b.comm_create = fake_comm_create;
    b.comm_attach = fake_comm_attach;
    b.comm_destroy = fake_comm_destroy;
    return b;
}

/* Registers the fake (with or without graph capture) as "fake". */
static void use_fake(int with_graph) {
    infer_backend b = fake_backend(with_graph);
    CHECK_OK(infer_register_backend(&b));
}

/* 1 when this build has in-process tensor parallelism (POSIX threads: not the Windows
   build, which refuses it with UNSUPPORTED). */
static int have_tp_threads(void) {
    static const infer_dim batch4[] = {{"batch", 4}};
    infer_model *m = tp_mlp(8, 8, 8);
    infer_session_options o;
    infer_session *s = NULL;
    infer_status st;
    memset(&o, 0, sizeof o);
    o.dims = batch4, o.n_dims = 1, o.n_threads = 1, o.tp = 2;
    st = infer_session_create(m, &o, &s);
    infer_session_free(s);
    infer_model_free(m);
    return !(st == INFER_STATUS_UNSUPPORTED && strstr(infer_last_error(), "POSIX threads"));
}

/* Every device resource a session took was given back. */
static void check_clean(void) {
    CHECK_EQ_INT(g_open, g_close);
    CHECK_EQ_INT(g_alloc, g_free);
    CHECK_EQ_INT(g_upload, g_release);
    CHECK_EQ_INT(g_prepare, g_unprepare);
    CHECK_EQ_INT(live_allocs(), 0);
    CHECK_EQ_INT(g_groups, 0);
    CHECK_EQ_INT(g_bad, 0);
}

/* -- models made with the builder -- */

typedef struct mb {
    infer_builder *b;
    int bad;
} mb;

static void mb_check(mb *m, infer_status st) {
    if (st && !m->bad) printf("  build: %s\n", infer_last_error());
    if (st) m->bad = 1;
}
static void mb_input(mb *m, const char *name, int n_dims, const int64_t *dims) {
    mb_check(m, infer_builder_add_input(m->b, name, INFER_DTYPE_F32, n_dims, dims, NULL));
}
static void mb_const(mb *m, const char *name, int n_dims, const int64_t *dims, const float *data) {
    infer_tensor t;
    size_t n = 1;
    int i;
    memset(&t, 0, sizeof t);
    for (i = 0; i < n_dims; i++) n *= (size_t)dims[i], t.dims[i] = dims[i];
    t.name = name;
    t.dtype = INFER_DTYPE_F32;
    t.n_dims = n_dims;
    t.data = (void *)data;
    t.data_bytes = n * sizeof(float);
    mb_check(m, infer_builder_add_constant(m->b, &t));
}
static void mb_node(mb *m, const char *op, const char *name, const char *in0, const char *in1, const char *out) {
    const char *in[2] = {in0, in1};
    mb_check(m, infer_builder_add_node(m->b, op, name, in, in1 ? 2 : 1, &out, 1, NULL, 0));
}
static void mb_output(mb *m, const char *name) { mb_check(m, infer_builder_add_output(m->b, name)); }
static infer_model *mb_finish(mb *m) {
    infer_model *model = NULL;
    infer_model_options mo;
    size_t n = 0;
    void *buf = NULL;
    memset(&mo, 0, sizeof mo);
    mo.copy = 1;
    if (!m->bad && !infer_builder_serialize(m->b, NULL, 0, &n) && posix_memalign(&buf, 64, n) == 0 &&
        !infer_builder_serialize(m->b, buf, n, &n))
        mb_check(m, infer_model_load_memory(buf, n, &mo, &model));
    infer_builder_free(m->b);
    free(buf);
    CHECK(model != NULL);
    return model;
}
static mb mb_start(void) {
    mb m;
    m.bad = 0;
    m.b = NULL;
    if (infer_builder_create(NULL, &m.b)) m.bad = 1;
    return m;
}

/* -- running a model on the CPU and on the fake, comparing -- */

#define MAX_IO 8
#define MAX_ELEMS 4096

typedef struct io {
    size_t n_in, n_out;
    infer_tensor in[MAX_IO];
    infer_tensor out[MAX_IO];
    float in_data[MAX_IO][MAX_ELEMS];
    float out_data[MAX_IO][MAX_ELEMS];
} io;

/* Inputs from the session's bound shapes (random values), output buffers for every output. */
static void io_init(io *x, infer_session *s, const infer_model *m, unsigned long long seed) {
    size_t i;
    memset(x, 0, sizeof *x);
    test_seed(seed);
    x->n_in = infer_model_n_inputs(m);
    x->n_out = infer_model_n_outputs(m);
    for (i = 0; i < x->n_in; i++) {
        infer_tensor_info info;
        size_t n = 1;
        int d;
        CHECK_OK(infer_session_input(s, i, &info));
        x->in[i].name = info.name;
        x->in[i].dtype = info.dtype;
        x->in[i].n_dims = info.n_dims;
        for (d = 0; d < info.n_dims; d++) n *= (size_t)(x->in[i].dims[d] = info.dims[d]);
        test_fill(x->in_data[i], n, -2, 2);
        x->in[i].data = x->in_data[i];
        x->in[i].data_bytes = n * sizeof(float);
    }
    for (i = 0; i < x->n_out; i++) {
        infer_tensor_info info;
        CHECK_OK(infer_session_output(s, i, &info));
        x->out[i].name = info.name;
        x->out[i].data = x->out_data[i];
        x->out[i].data_bytes = sizeof x->out_data[i];
        memset(x->out_data[i], 0xFF, sizeof x->out_data[i]); /* NaN: an output not written shows */
    }
}

static int g_threads = 1; /* of the sessions open_session makes */

static infer_session *open_session(const infer_model *m, const char *device, int batch) {
    infer_session *s = NULL;
    infer_session_options opt;
    infer_dim dim = {"batch", 0};
    memset(&opt, 0, sizeof opt);
    opt.n_threads = g_threads;
    opt.device = device;
    if (batch) {
        dim.value = batch;
        opt.dims = &dim;
        opt.n_dims = 1;
    }
    if (infer_session_create(m, &opt, &s)) printf("  create on %s: %s\n", device ? device : "cpu", infer_last_error());
    return s;
}

/* The outputs of a device run equal the CPU's (same inputs). */
static void check_same(const io *cpu, const io *dev) {
    size_t i, k;
    for (i = 0; i < cpu->n_out; i++) {
        size_t n = cpu->out[i].data_bytes / sizeof(float);
        int bad = 0;
        CHECK_EQ_INT(dev->out[i].n_dims, cpu->out[i].n_dims);
        CHECK_EQ_INT(dev->out[i].data_bytes, cpu->out[i].data_bytes);
        for (k = 0; k < n && !bad; k++) {
            double a = cpu->out_data[i][k], b = dev->out_data[i][k];
            if (!(fabs(a - b) <= 1e-5 * fmax(1, fabs(a)))) {
                printf("  output '%s' [%zu]: device %.9g, cpu %.9g\n", cpu->out[i].name, k, b, a);
                bad = 1;
            }
        }
        if (bad) CHECK(!"device output differs from the CPU's");
    }
}

/* Runs model m on the CPU and on device `device` (runs times, new inputs each time) and
   compares; returns the device session (the caller frees it) for stats. */
static infer_session *compare(const infer_model *m, const char *device, int batch, int runs) {
    static io cpu, dev;
    infer_session *sc = open_session(m, NULL, batch), *sd = open_session(m, device, batch);
    int r;
    size_t i;
    CHECK(sc && sd);
    if (!sc || !sd) {
        infer_session_free(sc);
        infer_session_free(sd);
        return NULL;
    }
    for (r = 0; r < runs; r++) {
        io_init(&cpu, sc, m, 100 + (unsigned)r);
        io_init(&dev, sd, m, 100 + (unsigned)r);
        CHECK_OK(infer_run(sc, cpu.in, cpu.n_in, cpu.out, cpu.n_out));
        CHECK_OK(infer_run(sd, dev.in, dev.n_in, dev.out, dev.n_out));
        for (i = 0; i < cpu.n_out; i++) cpu.out[i].data_bytes = dev.out[i].data_bytes = 0;
        for (i = 0; i < cpu.n_out; i++) { /* the bytes each output holds */
            infer_tensor_info info;
            size_t n = sizeof(float);
            int d;
            infer_session_output(sc, i, &info);
            for (d = 0; d < info.n_dims; d++) n *= (size_t)info.dims[d];
            cpu.out[i].data_bytes = dev.out[i].data_bytes = n;
        }
        check_same(&cpu, &dev);
    }
    infer_session_free(sc);
    return sd;
}

/* node i's device as infer_session_node names it */
static const char *node_device(const infer_session *s, const char *name) {
    infer_node_info info;
    size_t i;
    for (i = 0; infer_session_node(s, i, &info) == INFER_STATUS_OK; i++)
        if (!strcmp(info.name, name)) return info.device ? info.device : "(null)";
    return "(no such node)";
}

static float W1[12 * 5], B1[5], W2[8 * 6], C6[6];

/* M1, all on the device:  x [batch][8]
   h = MatMul(x, W2[8][6]) + C6[6]    (Add, broadcast)
   y = Relu(h) -> LeakyRelu(alpha 0.2) */
static infer_model *model_all_device(void) {
    mb m = mb_start();
    static const int64_t xd[2] = {0, 8}, wd[2] = {8, 6}, cd[1] = {6};
    static const char *const names[2] = {"batch", NULL};
    const char *lin[1] = {"r"}, *lout[1] = {"y"};
    infer_attr alpha = infer_attr_float("alpha", 0.2f);
    test_seed(7);
    test_fill(W2, 48, -1, 1);
    test_fill(C6, 6, -1, 1);
    if (!m.bad) mb_check(&m, infer_builder_add_input(m.b, "x", INFER_DTYPE_F32, 2, xd, names));
    mb_const(&m, "W2", 2, wd, W2);
    mb_const(&m, "C6", 1, cd, C6);
    mb_node(&m, "MatMul", "mm", "x", "W2", "h0");
    mb_node(&m, "Add", "bias", "h0", "C6", "h");
    mb_node(&m, "Relu", "relu", "h", NULL, "r");
    if (!m.bad) mb_check(&m, infer_builder_add_node(m.b, "LeakyRelu", "leaky", lin, 1, lout, 1, &alpha, 1));
    mb_output(&m, "y");
    return mb_finish(&m);
}

/* M2, mixed:  x [2][3][4], z [2][12]
   r  = Reshape(x, [2,12])      a view of a graph input
   a  = Add(r, z)               device (a view of an input and an input)
   s1 = Sigmoid(a)              CPU: a copied out; in place over a
   s2 = Relu(s1)                device: s1 copied in; in place
   mm = MatMul(s2, W1) + B1     device (bias input)
   t  = Tanh(mm)                CPU: mm copied out; t is output y1
   u  = Mul(t, t)               device: t copied in; output y2
   v  = Sigmoid(z)              CPU, straight from the graph input z
   w  = Add(v, s2)              device: v copied in; output y3
   outputs y1 = t, y2 = u, y3 = w, s1 (made on the CPU), mm (made on the device, read by the CPU) */
static infer_model *model_mixed(void) {
    mb m = mb_start();
    static const int64_t xd[3] = {2, 3, 4}, zd[2] = {2, 12}, wd[2] = {12, 5}, bd[1] = {5}, sd[1] = {2};
    static const int64_t shape[2] = {2, 12};
    infer_tensor sh = {"shape", INFER_DTYPE_I64, 1, {2}, (void *)shape, sizeof shape};
    const char *mm_in[3] = {"s2", "W1", "B1"}, *mm_out[1] = {"mm"};
    (void)sd;
    test_seed(8);
    test_fill(W1, 60, -1, 1);
    test_fill(B1, 5, -1, 1);
    mb_input(&m, "x", 3, xd);
    mb_input(&m, "z", 2, zd);
    mb_const(&m, "W1", 2, wd, W1);
    mb_const(&m, "B1", 1, bd, B1);
    if (!m.bad) mb_check(&m, infer_builder_add_constant(m.b, &sh));
    mb_node(&m, "Reshape", "reshape", "x", "shape", "r");
    mb_node(&m, "Add", "add_a", "r", "z", "a");
    mb_node(&m, "Sigmoid", "sig_s1", "a", NULL, "s1");
    mb_node(&m, "Relu", "relu_s2", "s1", NULL, "s2");
    if (!m.bad) mb_check(&m, infer_builder_add_node(m.b, "MatMul", "mm", mm_in, 3, mm_out, 1, NULL, 0));
    mb_node(&m, "Tanh", "tanh_t", "mm", NULL, "y1");
    mb_node(&m, "Mul", "mul_u", "y1", "y1", "y2");
    mb_node(&m, "Sigmoid", "sig_v", "z", NULL, "v");
    mb_node(&m, "Add", "add_w", "v", "s2", "y3");
    mb_output(&m, "y1");
    mb_output(&m, "y2");
    mb_output(&m, "y3");
    mb_output(&m, "s1");
    mb_output(&m, "mm");
    return mb_finish(&m);
}

/* M3, nothing the fake runs:  x [3][5] -> Sigmoid -> Softmax -> Transpose -> y */
static infer_model *model_fallback(void) {
    mb m = mb_start();
    static const int64_t xd[2] = {3, 5};
    mb_input(&m, "x", 2, xd);
    mb_node(&m, "Sigmoid", "sig", "x", NULL, "a");
    mb_node(&m, "Softmax", "softmax", "a", NULL, "b");
    mb_node(&m, "Transpose", "transpose", "b", NULL, "y");
    mb_output(&m, "y");
    return mb_finish(&m);
}

/* M4, outputs that no node makes:  x [2][6]; outputs x itself, the constant C6, and
   Reshape(x) (a view of the input); plus y = Relu(x) on the device, and y2 = y + k where
   k = C6 * C6 is folded at creation (the device reads a folded constant) */
static infer_model *model_passthrough(void) {
    mb m = mb_start();
    static const int64_t xd[2] = {2, 6}, cd[1] = {6}, shape[1] = {12};
    infer_tensor sh = {"shape", INFER_DTYPE_I64, 1, {1}, (void *)shape, sizeof shape};
    test_seed(9);
    test_fill(C6, 6, -1, 1);
    mb_input(&m, "x", 2, xd);
    mb_const(&m, "C6", 1, cd, C6);
    if (!m.bad) mb_check(&m, infer_builder_add_constant(m.b, &sh));
    mb_node(&m, "Reshape", "flat", "x", "shape", "f");
    mb_node(&m, "Relu", "relu", "x", NULL, "y");
    mb_node(&m, "Mul", "fold", "C6", "C6", "k");   /* folded at creation */
    mb_node(&m, "Add", "add_k", "y", "k", "y2");   /* the device reads the folded constant */
    mb_output(&m, "x");
    mb_output(&m, "C6");
    mb_output(&m, "f");
    mb_output(&m, "y");
    mb_output(&m, "y2");
    return mb_finish(&m);
}

/* -- the tests -- */

static void test_register_errors(void) {
    infer_backend b = fake_backend(1);
    CHECK_STATUS(infer_register_backend(NULL), INFER_STATUS_INVALID_ARGUMENT, "no backend");
    b.name = "cpu";
    CHECK_STATUS(infer_register_backend(&b), INFER_STATUS_INVALID_ARGUMENT, "not 'cpu'");
    b.name = "fa:ke";
    CHECK_STATUS(infer_register_backend(&b), INFER_STATUS_INVALID_ARGUMENT, "without ':'");
    b.name = "";
    CHECK_STATUS(infer_register_backend(&b), INFER_STATUS_INVALID_ARGUMENT, "1 to 31 bytes");
    b = fake_backend(1);
    b.run = NULL;
    CHECK_STATUS(infer_register_backend(&b), INFER_STATUS_INVALID_ARGUMENT, "lacks a required function");
    b = fake_backend(1);
    b.graph_end = NULL;
    CHECK_STATUS(infer_register_backend(&b), INFER_STATUS_INVALID_ARGUMENT, "graph_begin with graph_end");
    b = fake_backend(1);
    b.prepare = NULL;
    b.unprepare = NULL;
    b.name = "noprep";
    CHECK_OK(infer_register_backend(&b)); /* prepare and unprepare are optional */
}

static void test_device_errors(void) {
    infer_model *m = model_fallback();
    infer_session *s = NULL;
    infer_session_options opt;
    fake_reset();
    use_fake(1);
    memset(&opt, 0, sizeof opt);
    opt.device = "nope";
    CHECK_STATUS(infer_session_create(m, &opt, &s), INFER_STATUS_UNSUPPORTED,
                 "device 'nope' is not available (registered: cpu, ");
    CHECK(strstr(infer_last_error(), "fake") != NULL);
    CHECK(s == NULL);
    opt.device = "fake:2";
    CHECK_STATUS(infer_session_create(m, &opt, &s), INFER_STATUS_BACKEND, "no fake device 2 (device_count reports 2)");
    opt.device = "fake:x";
    CHECK_STATUS(infer_session_create(m, &opt, &s), INFER_STATUS_INVALID_ARGUMENT, "must be a device number");
    opt.device = "fake:";
    CHECK_STATUS(infer_session_create(m, &opt, &s), INFER_STATUS_INVALID_ARGUMENT, "must be a device number");
    g_fail_open = 1;
    opt.device = "fake:1";
    CHECK_STATUS(infer_session_create(m, &opt, &s), INFER_STATUS_BACKEND, "open failed: injected open failure on device 1");
    g_fail_open = 0;
    { /* a communicator's ranks: the CPU only */
        infer_comm comm;
        memset(&comm, 0, sizeof comm);
        comm.size = 2;
        opt.device = "fake";
        opt.comm = &comm;
        CHECK_STATUS(infer_session_create(m, &opt, &s), INFER_STATUS_UNSUPPORTED, "a communicator's ranks run on the CPU only");
        opt.comm = NULL;
    }
    opt.device = "fake:2";
    opt.tp = 2;
    if (have_tp_threads())
        CHECK_STATUS(infer_session_create(m, &opt, &s), INFER_STATUS_BACKEND, "no fake device 2 (device_count reports 2)");
    opt.tp = 0;
    CHECK(s == NULL);
    /* "cpu" is the plain session; a device session's size query names no unknown device */
    opt.device = "cpu";
    CHECK_OK(infer_session_create(m, &opt, &s));
    infer_session_free(s);
    s = NULL;
    {
        size_t bytes = 0;
        opt.device = "fake";
        CHECK_OK(infer_session_arena_bytes(m, &opt, &bytes));
        opt.device = "nope";
        CHECK_STATUS(infer_session_arena_bytes(m, &opt, &bytes), INFER_STATUS_UNSUPPORTED, "is not available");
    }
    CHECK_EQ_INT(g_open, 0);
    check_clean();
    infer_model_free(m);
    /* failures after open: everything taken so far is given back */
    m = model_mixed();
    opt.device = "fake";
    g_fail_upload = 1;
    CHECK_STATUS(infer_session_create(m, &opt, &s), INFER_STATUS_BACKEND, "no device memory for constant 'W1' (240 bytes)");
    g_fail_upload = 0;
    g_fail_prepare = "mm";
    CHECK_STATUS(infer_session_create(m, &opt, &s), INFER_STATUS_UNSUPPORTED,
                 "node 'mm' (MatMul): fake prepare failed: injected prepare failure");
    g_fail_prepare = NULL;
    CHECK(s == NULL);
    CHECK_EQ_INT(g_open, 2);
    CHECK(g_prepare > 0);
    check_clean();
    infer_model_free(m);
}

/* infer_session_options.precision reaches set_precision right after open, before any
   upload; F32 does not call it; its failure fails the creation with everything given back;
   a backend without it, like the CPU, ignores the option; a value outside infer_precision
   is refused. */
static int g_precision = -1, g_precision_calls, g_upload_at_precision = -1;
static infer_status fake_set_precision(void *dev, infer_precision p, char *err, size_t err_size) {
    (void)dev;
    g_precision = (int)p;
    g_precision_calls++;
    g_upload_at_precision = g_upload;
    if (p == INFER_PRECISION_BF16) {
        snprintf(err, err_size, "fake has no bf16");
        return INFER_STATUS_UNSUPPORTED;
    }
    return INFER_STATUS_OK;
}

static void test_precision(void) {
    infer_model *m = model_mixed();
    infer_session *s = NULL;
    infer_session_options opt;
    infer_backend b = fake_backend(1);
    fake_reset();
    b.set_precision = fake_set_precision;
    CHECK_OK(infer_register_backend(&b));
    memset(&opt, 0, sizeof opt);
    opt.device = "fake";
    opt.precision = INFER_PRECISION_F16;
    CHECK_OK(infer_session_create(m, &opt, &s));
    CHECK_EQ_INT(g_precision, INFER_PRECISION_F16);
    CHECK_EQ_INT(g_upload_at_precision, 0);
    infer_session_free(s);
    s = NULL;
    opt.precision = INFER_PRECISION_F32;
    CHECK_OK(infer_session_create(m, &opt, &s));
    CHECK_EQ_INT(g_precision_calls, 1);
    infer_session_free(s);
    s = NULL;
    opt.precision = INFER_PRECISION_BF16;
    CHECK_STATUS(infer_session_create(m, &opt, &s), INFER_STATUS_UNSUPPORTED, "device 'fake': precision 3: fake has no bf16");
    CHECK(s == NULL);
    opt.precision = 7;
    CHECK_STATUS(infer_session_create(m, &opt, &s), INFER_STATUS_INVALID_ARGUMENT, "precision 7 is not an infer_precision");
    CHECK_EQ_INT(g_precision_calls, 2);
    check_clean();
    use_fake(1); /* no set_precision: the option is ignored */
    opt.precision = INFER_PRECISION_BF16;
    CHECK_OK(infer_session_create(m, &opt, &s));
    infer_session_free(s);
    check_clean();
    infer_model_free(m);
}

static void test_all_device(void) {
    infer_model *m = model_all_device();
    infer_session *s;
    infer_session_stats st;
    fake_reset();
    use_fake(0); /* no graph capture: the node calls every run */
    s = compare(m, "fake", 4, 3);
    infer_session_get_stats(s, &st);
    CHECK_EQ_INT(st.n_device_nodes, 4);
    CHECK_EQ_INT(st.n_fallback_nodes, 0);
    CHECK_EQ_INT(st.copy_bytes_per_run, 0);
    CHECK_EQ_INT(st.arena_capacity_bytes, 0); /* no CPU node: no host mirror */
    CHECK(st.arena_bytes > 0);
    CHECK_EQ_INT(g_run, 12);
    CHECK_EQ_INT(g_upload, 2); /* W2, C6 */
    CHECK_EQ_INT(g_prepare, 4);
    CHECK(!strcmp(node_device(s, "mm"), "fake"));
    CHECK(!strcmp(node_device(s, "leaky"), "fake"));
    infer_session_free(s);
    check_clean();
    infer_model_free(m);
}

static void test_mixed(void) {
    infer_model *m = model_mixed();
    infer_session *s;
    infer_session_stats st;
    infer_node_info info;
    fake_reset();
    use_fake(1); /* graph capture offered, but a mixed run never uses it */
    s = compare(m, "fake:1", 0, 3);
    infer_session_get_stats(s, &st);
    CHECK_EQ_INT(st.n_device_nodes, 5);   /* add_a relu_s2 mm mul_u add_w */
    CHECK_EQ_INT(st.n_fallback_nodes, 3); /* sig_s1 tanh_t sig_v */
    /* out: a (96 bytes) before sig_s1, mm (40) before tanh_t; in: s1 (96), t (40), v (96) */
    CHECK_EQ_INT(st.copy_bytes_per_run, 96 + 40 + 96 + 40 + 96);
    CHECK_EQ_INT(g_graph_begin, 0);
    CHECK(!strcmp(node_device(s, "add_a"), "fake"));
    CHECK(!strcmp(node_device(s, "sig_s1"), "cpu (fallback)"));
    CHECK(!strcmp(node_device(s, "reshape"), "(null)")); /* a view: runs nowhere */
    CHECK_OK(infer_session_node(s, 4, &info));
    CHECK(!strcmp(info.name, "mm") && !strcmp(info.kernel, "fake"));
    infer_session_free(s);
    check_clean();
    g_threads = 2; /* the CPU nodes on worker threads */
    s = compare(m, "fake", 0, 2);
    infer_session_free(s);
    g_threads = 1;
    check_clean();
    infer_model_free(m);
}

static void test_all_fallback(void) {
    infer_model *m = model_fallback();
    infer_session *s;
    infer_session_stats st;
    fake_reset();
    use_fake(1);
    s = compare(m, "fake", 0, 2);
    infer_session_get_stats(s, &st);
    CHECK_EQ_INT(st.n_device_nodes, 0);
    CHECK_EQ_INT(st.n_fallback_nodes, 3);
    CHECK_EQ_INT(st.copy_bytes_per_run, 0);
    CHECK_EQ_INT(g_run, 0);
    CHECK_EQ_INT(g_copy_in + g_copy_out, 0);
    CHECK_EQ_INT(g_open, 1);
    infer_session_free(s);
    check_clean();
    /* a model the fake could run, with the fake saying no to everything */
    infer_model_free(m);
    m = model_mixed();
    g_support_none = 1;
    s = compare(m, "fake", 0, 1);
    infer_session_get_stats(s, &st);
    CHECK_EQ_INT(st.n_device_nodes, 0);
    CHECK_EQ_INT(st.n_fallback_nodes, 8);
    CHECK_EQ_INT(live_allocs(), 1); /* the arena: the tentative uploads and input buffers were dropped */
    infer_session_free(s);
    check_clean();
    infer_model_free(m);
}

static void test_passthrough_outputs(void) {
    infer_model *m = model_passthrough();
    infer_session *s;
    fake_reset();
    use_fake(1);
    s = compare(m, "fake", 0, 2);
    CHECK(!strcmp(node_device(s, "add_k"), "fake"));
    CHECK(!strcmp(node_device(s, "fold"), "(null)"));
    CHECK_EQ_INT(g_upload, 1); /* k */
    infer_session_free(s);
    check_clean();
    infer_model_free(m);
}

static void test_graph_capture(void) {
    infer_model *m = model_all_device();
    infer_session *s;
    fake_reset();
    use_fake(1);
    s = compare(m, "fake", 4, 4); /* new inputs every run: a replay recomputes */
    CHECK_EQ_INT(g_graph_begin, 4);
    CHECK_EQ_INT(g_graph_end, 4);
    CHECK_EQ_INT(g_replay, 3);
    CHECK_EQ_INT(g_run, 4); /* the node calls of the first run only */
    infer_session_free(s);
    check_clean();
    infer_model_free(m);
}

static void test_run_failure(void) {
    infer_model *m = model_mixed();
    infer_session *s;
    static io x;
    fake_reset();
    use_fake(1);
    s = open_session(m, "fake", 0);
    CHECK(s != NULL);
    if (s) {
        io_init(&x, s, m, 5);
        g_fail_run = "mm";
        CHECK_STATUS(infer_run(s, x.in, x.n_in, x.out, x.n_out), INFER_STATUS_BACKEND,
                     "node 'mm' (MatMul): fake run failed: injected failure");
        CHECK(strstr(infer_session_error(s), "node 'mm'") != NULL);
        g_fail_run = NULL;
        infer_session_free(s);
    }
    /* the session stays usable: the next run matches the CPU */
    s = compare(m, "fake", 0, 1);
    infer_session_free(s);
    infer_model_free(m);
    /* a failure inside a captured run: graph_end still comes, the capture is dropped */
    m = model_all_device();
    s = open_session(m, "fake", 4);
    CHECK(s != NULL);
    if (s) {
        io_init(&x, s, m, 6);
        g_fail_run = "relu";
        CHECK_STATUS(infer_run(s, x.in, x.n_in, x.out, x.n_out), INFER_STATUS_BACKEND, "node 'relu' (Relu)");
        g_fail_run = NULL;
        CHECK_EQ_INT(g_graph_begin, 1);
        CHECK_EQ_INT(g_graph_end, 1);
        CHECK_OK(infer_run(s, x.in, x.n_in, x.out, x.n_out)); /* captures afresh */
        CHECK_OK(infer_run(s, x.in, x.n_in, x.out, x.n_out)); /* replays */
        CHECK_EQ_INT(g_replay, 1);
        infer_session_free(s);
    }
    check_clean();
    infer_model_free(m);
}

static int polls, stop_at;
static int abort_after(void *user) {
    (void)user;
    return ++polls >= stop_at;
}

/* the abort callback stops a mixed run between nodes; the next run is whole */
static void test_abort_between_nodes(void) {
    infer_model *m = model_mixed();
    infer_session *s = NULL;
    infer_session_options opt;
    static io x;
    int k;
    fake_reset();
    use_fake(1);
    memset(&opt, 0, sizeof opt);
    opt.n_threads = 1;
    opt.device = "fake";
    opt.abort = abort_after;
    CHECK_OK(infer_session_create(m, &opt, &s));
    if (s) {
        io_init(&x, s, m, 4);
        for (k = 3; k <= 6; k++) {
            polls = 0, stop_at = k;
            CHECK_STATUS(infer_run(s, x.in, x.n_in, x.out, x.n_out), INFER_STATUS_CANCELLED, "run cancelled at node");
        }
        stop_at = 1 << 30;
        CHECK_OK(infer_run(s, x.in, x.n_in, x.out, x.n_out));
        infer_session_free(s);
    }
    check_clean();
    infer_model_free(m);
}

static void test_cancel_and_dims(void) {
    infer_model *m = model_all_device();
    infer_session *s;
    static io x;
    infer_dim same = {"batch", 4}, other = {"batch", 2};
    fake_reset();
    use_fake(0);
    s = open_session(m, "fake", 4);
    CHECK(s != NULL);
    if (s) {
        io_init(&x, s, m, 3);
        infer_session_cancel(s);
        CHECK_STATUS(infer_run(s, x.in, x.n_in, x.out, x.n_out), INFER_STATUS_CANCELLED, "cancelled");
        CHECK_OK(infer_run(s, x.in, x.n_in, x.out, x.n_out));
        CHECK_OK(infer_session_set_dims(s, &same, 1));
        CHECK_STATUS(infer_session_set_dims(s, &other, 1), INFER_STATUS_UNSUPPORTED, "cannot re-bind dims");
        CHECK_OK(infer_run(s, x.in, x.n_in, x.out, x.n_out)); /* still usable */
        infer_session_free(s);
    }
    check_clean();
    infer_model_free(m);
}

/* the accessors, seen from supports() */
static int64_t a_perm[4], a_int, a_int_absent;
static long a_n_perm, a_n_absent, a_n_floats_wrong;
static float a_alpha, a_alpha_absent;
static const char *a_act, *a_act_absent;
static int a_seen;
static int attr_supports(void *dev, const infer_backend_op *op) {
    (void)dev;
    if (!strcmp(op->op_type, "Transpose")) {
        memset(a_perm, 0, sizeof a_perm);
        a_n_perm = infer_backend_attr_ints(op, "perm", a_perm, 2); /* 3 values, room for 2 */
        a_n_absent = infer_backend_attr_ints(op, "nope", a_perm + 3, 1);
        a_n_floats_wrong = infer_backend_attr_floats(op, "perm", NULL, 0); /* ints, not floats */
        a_int = infer_backend_attr_int(op, "perm", -7);                     /* of another type */
        a_seen++;
    } else if (!strcmp(op->op_type, "MatMul")) {
        a_act = infer_backend_attr_string(op, "activation", "None");
        a_act_absent = infer_backend_attr_string(op, "nope", "dflt");
        a_alpha = infer_backend_attr_float(op, "activation_alpha", -1);
        a_alpha_absent = infer_backend_attr_float(op, "activation_beta", 0.5f);
        a_int_absent = infer_backend_attr_int(op, "nope", 42);
        a_seen++;
    }
    return 0;
}

static void test_attrs(void) {
    mb mm = mb_start();
    infer_model *m;
    infer_session *s;
    infer_backend b = fake_backend(0);
    static const int64_t xd[3] = {2, 3, 4}, wd[2] = {4, 2}, perm[3] = {2, 0, 1};
    static float w[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    infer_attr tattr = infer_attr_ints("perm", perm, 3);
    infer_attr mattr[2];
    const char *tin[1] = {"x"}, *tout[1] = {"t"}, *min[2] = {"x", "W"}, *mout[1] = {"y"};
    mattr[0] = infer_attr_string("activation", "LeakyRelu");
    mattr[1] = infer_attr_float("activation_alpha", 0.25f);
    mb_input(&mm, "x", 3, xd);
    mb_const(&mm, "W", 2, wd, w);
    if (!mm.bad) mb_check(&mm, infer_builder_add_node(mm.b, "Transpose", "tr", tin, 1, tout, 1, &tattr, 1));
    if (!mm.bad) mb_check(&mm, infer_builder_add_node(mm.b, "MatMul", "mm", min, 2, mout, 1, mattr, 2));
    mb_output(&mm, "t");
    mb_output(&mm, "y");
    m = mb_finish(&mm);
    fake_reset();
    b.name = "attrs";
    b.supports = attr_supports;
    CHECK_OK(infer_register_backend(&b));
    s = open_session(m, "attrs", 0);
    CHECK(s != NULL);
    CHECK_EQ_INT(a_seen, 2);
    CHECK_EQ_INT(a_n_perm, 3);
    CHECK_EQ_INT(a_perm[0], 2);
    CHECK_EQ_INT(a_perm[1], 0);
    CHECK_EQ_INT(a_perm[2], 0); /* past cap: untouched */
    CHECK_EQ_INT(a_n_absent, -1);
    CHECK_EQ_INT(a_perm[3], 0);
    CHECK_EQ_INT(a_n_floats_wrong, -1);
    CHECK_EQ_INT(a_int, -7);
    CHECK(a_act && !strcmp(a_act, "LeakyRelu"));
    CHECK(a_act_absent && !strcmp(a_act_absent, "dflt"));
    CHECK_NEAR(a_alpha, 0.25, 0);
    CHECK_NEAR(a_alpha_absent, 0.5, 0);
    CHECK_EQ_INT(a_int_absent, 42);
    CHECK_EQ_INT(infer_backend_attr_int(NULL, "x", 3), 3);
    CHECK_EQ_INT(infer_backend_attr_ints(NULL, "x", NULL, 0), -1);
    infer_session_free(s);
    check_clean();
    infer_model_free(m);
}

/* Tensor parallelism on a device (infer.h section 8): tp = 2 on "fake" puts the ranks on
   fake:0 and fake:1 with the backend's device collectives (AllReduce on the devices,
   AllGather on the CPU); tp = 3 has two ranks on fake:0, so its collectives go through the
   host, as they do when comm_create fails; "fake:1" starts at device 1. Each against the
   CPU's single-device run; the plan says where the collectives ran; every device
   resource and the group are given back. */
static void test_tp_devices(void) {
    static const infer_dim batch4[] = {{"batch", 4}};
    static const struct {
        const char *device;
        int tp, fail_group;
        const char *plan;
    } cases[] = {
        {"fake", 2, 0, "devices: fake:0 fake:1; collectives on the devices (fake)"},
        {"fake:1", 2, 0, "devices: fake:1 fake:0; collectives on the devices (fake)"},
        {"fake", 3, 0, "devices: fake:0 fake:1 fake:0; collectives through the host (ranks share a device)"},
        {"fake", 2, 1, "collectives through the host (the backend's device collectives failed: injected group failure)"},
    };
    infer_model *m;
    size_t i;
    if (!have_tp_threads()) SKIP("no in-process tensor parallelism in this build (POSIX threads)");
    m = tp_mlp(32, 96, 60);
    CHECK(m != NULL);
    if (!m) return;
    fake_reset();
    use_fake(1);
    tp_rtol = 1e-4; /* the fake's MatMul sums in f32, in another order */
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        infer_session_options o;
        infer_session *s = NULL;
        infer_tp_stats st;
        int before = g_dev_allreduce;
        tp_device = cases[i].device;
        g_fail_group = cases[i].fail_group;
        CHECK(tp_compare(m, batch4, 1, cases[i].tp, NULL, &st, 0) == 0);
        CHECK_EQ_INT(st.n_allreduce, 1);
        /* two runs, one AllReduce each, on the devices when they have a group */
        CHECK_EQ_INT(g_dev_allreduce - before, strstr(cases[i].plan, "on the devices") ? 2 : 0);
        memset(&o, 0, sizeof o);
        o.dims = batch4, o.n_dims = 1, o.n_threads = 1, o.tp = cases[i].tp, o.device = cases[i].device;
        CHECK_OK(infer_session_create(m, &o, &s));
        if (s && !strstr(infer_session_tp_plan(s), cases[i].plan))
            printf("  case %zu: the plan lacks '%s':\n%s", i, cases[i].plan, infer_session_tp_plan(s));
        CHECK(s && strstr(infer_session_tp_plan(s), cases[i].plan));
        if (s && i == 0) { /* device 1 fails before the AllReduce: device 0 stops there, no hang */
            infer_tensor x, y;
            float xs[4 * 32], ys[4 * 60];
            memset(&x, 0, sizeof x), memset(&y, 0, sizeof y);
            test_fill(xs, 4 * 32, -1, 1);
            x.name = "x", x.dtype = INFER_DTYPE_F32, x.n_dims = 2, x.dims[0] = 4, x.dims[1] = 32, x.data = xs;
            x.data_bytes = sizeof xs;
            y.name = "y", y.data = ys, y.data_bytes = sizeof ys;
            g_fail_run = "fc2", g_fail_run_on = 2;
            CHECK_STATUS(infer_run(s, &x, 1, &y, 1), INFER_STATUS_BACKEND, "device 1");
            printf("  %s\n", infer_session_error(s));
            g_fail_run = NULL, g_fail_run_on = 0;
            CHECK_OK(infer_run(s, &x, 1, &y, 1)); /* and the next run works */
        }
        infer_session_free(s);
        check_clean();
    }
    g_fail_group = 0;
    tp_device = NULL;
    tp_rtol = 1e-5;
    infer_model_free(m);
}

int main(void) {
    RUN(test_register_errors);
    RUN(test_device_errors);
    RUN(test_precision);
    RUN(test_all_device);
    RUN(test_mixed);
    RUN(test_all_fallback);
    RUN(test_passthrough_outputs);
    RUN(test_graph_capture);
    RUN(test_run_failure);
    RUN(test_cancel_and_dims);
    RUN(test_abort_between_nodes);
    RUN(test_attrs);
    RUN(test_tp_devices);
    return test_finish();
}
