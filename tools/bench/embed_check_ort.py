"""ONNX Runtime measured the way tools/bench/embed_check.c measures infer (issue 10).

usage: .venv/bin/python tools/bench/embed_check_ort.py [MODEL.onnx] [SECONDS]
       (default models/digits/digits.onnx, 10 s)

For each setting (default session options; intra-op spinning disabled with
session.intra_op.allow_spinning=0), at 2 threads and at 1:
(a) runs batch 16 at 6 Hz for SECONDS: process CPU time over the period / CPU time inside
    session.run (1.0: nothing used between runs);
(b) 100,000 runs cycling batch 1, 4, 2, 5, 3 on one session: RSS after 1,000 runs and at
    the end (2 threads only);
(c) RunOptions.terminate set from another thread 50 ms into a long run (batch 2048, doubled
    until a run takes 300 ms, as ORT is faster): time from setting it to run's return,
    worst of 5 (2 threads only). ORT checks terminate between nodes.
Prints one summary line per setting, as embed_check does.
"""
import sys
import threading
import time

import numpy as np
import onnxruntime as ort

RATE_HZ = 6
IDLE_BATCH = 16
CANCEL_BATCH = 2048


def rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 // 1024


def session(path, threads, spin):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    if not spin:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def feed(sess, batch):
    inp = sess.get_inputs()[0]
    shape = [batch if not isinstance(d, int) else d for d in inp.shape]
    return {inp.name: np.random.default_rng(0).random(shape, dtype=np.float32)}


def idle_overhead(path, threads, spin, seconds):
    sess = session(path, threads, spin)
    x = feed(sess, IDLE_BATCH)
    sess.run(None, x)
    inside = 0.0
    n = 0
    c0 = time.process_time()
    nxt = time.monotonic()
    end = nxt + seconds
    while nxt < end:
        a = time.process_time()
        sess.run(None, x)
        inside += time.process_time() - a
        n += 1
        nxt += 1.0 / RATE_HZ
        d = nxt - time.monotonic()
        if d > 0:
            time.sleep(d)
    total = time.process_time() - c0
    print(f"(a) ORT {threads} thread(s), spinning {'on' if spin else 'off'}: {n} runs; CPU {inside*1e3:.1f} ms in runs, "
          f"{total*1e3:.1f} ms in all: idle_overhead {total/inside:.3f}")
    return total / inside


def rss_growth(path, spin):
    sess = session(path, 2, spin)
    feeds = [feed(sess, b) for b in (1, 4, 2, 5, 3)]
    warm = 0
    t0 = time.monotonic()
    for r in range(100000):
        sess.run(None, feeds[r % 5])
        if r == 999:
            warm = rss_kb()
    end = rss_kb()
    print(f"(b) ORT 100000 runs cycling batch 1, 4, 2, 5, 3 in {time.monotonic()-t0:.1f} s: RSS {warm} KiB after 1000 runs, "
          f"{end} KiB at the end")
    return end - warm


def cancel_latency(path, spin):
    sess = session(path, 2, spin)
    batch = CANCEL_BATCH
    while True:
        x = feed(sess, batch)
        t = time.monotonic()
        sess.run(None, x)
        full = time.monotonic() - t
        if full >= 0.3 or batch >= 1 << 17:
            break
        batch *= 2
    worst = 0.0
    for _ in range(5):
        ro = ort.RunOptions()
        at = [0.0]

        def cancel():
            time.sleep(0.05)
            at[0] = time.monotonic()
            ro.terminate = True

        th = threading.Thread(target=cancel)
        th.start()
        cancelled = False
        try:
            sess.run(None, x, ro)
        except Exception:  # ORT raises when a run is terminated
            cancelled = True
        back = time.monotonic()
        th.join()
        if not cancelled:
            print("(c) ORT: the run finished before the cancel took effect")
            worst = max(worst, (back - at[0]) * 1e3 if back > at[0] else 0)
            continue
        worst = max(worst, (back - at[0]) * 1e3)
    print(f"(c) ORT batch {batch}, 2 threads: a full run takes {full*1e3:.1f} ms; cancel 50 ms in, worst of 5: "
          f"{worst:.3f} ms from terminate to the return")
    return worst


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "models/digits/digits.onnx"
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    print(f"onnxruntime {ort.__version__}")
    for spin in (True, False):
        idle2 = idle_overhead(path, 2, spin, seconds)
        idle1 = idle_overhead(path, 1, spin, seconds)
        growth = rss_growth(path, spin)
        cancel = cancel_latency(path, spin)
        print(f"ORT spinning={'default' if spin else 'off'}: idle_overhead={idle2:.3f} idle_overhead_1thread={idle1:.3f} "
              f"rss_growth_kb={growth} cancel_ms={cancel:.3f}")


if __name__ == "__main__":
    main()
