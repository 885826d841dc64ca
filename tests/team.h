/* A thread team for white-box callers of the kernels (tests, tools/bench): a session makes
   its own, but the GEMMs called directly run their loops through the context they are
   given, and a NULL context runs on the calling thread. team_ctx(n) returns a context
   whose infer__parallel uses up to n threads (the library's worker pool, started once
   for the largest n asked; stopped at exit). Include after infer.h's implementation. */
#ifndef INFER_TEST_TEAM_H
#define INFER_TEST_TEAM_H

#include <stdlib.h>

static infer__rt team_rt;
static infer__ctx team_cx;
static const infer_allocator team_alloc; /* all zero: INFER_MALLOC / INFER_FREE */

static void team_stop(void) {
    infer__pool_stop(&team_alloc, team_rt.pool);
    team_rt.pool = NULL;
}

static const infer__ctx *team_ctx(int n_threads) {
    if (n_threads > team_rt.n_threads) {
        if (team_rt.pool) team_stop();
        else atexit(team_stop);
        team_rt.n_threads = n_threads;
        team_rt.spin_us = 50;
        infer__pool_start(&team_alloc, &team_rt);
        team_cx.rt = &team_rt;
    }
    team_cx.n_threads = team_rt.n_threads;
    return &team_cx;
}

#endif
