"""What the PyTorch references of the benchmarks (sinkhorn_loss.py, barycoords.py,
metric_learning.py, mke.py) share: the generator of their inputs, PyTorch's setup in a worker,
the timing of calls and the RESULT line.

The generator is the library's otad_rng, a 64-bit LCG: before each draw the state s becomes
6364136223846793005 s + 1442695040888963407 mod 2^64, and the draw is (s >> 11) / 2^53; the
seed is the first state.  Its first draws are in tests/data/lcg_test_vectors.txt.
"""
import json
import statistics
import sys
import time

import numpy as np
import torch


def lcg(seed, count):
    """The first count draws in [0, 1) of the generator seeded with seed."""
    draws, state = np.empty(count), seed
    for i in range(count):
        state = (6364136223846793005 * state + 1442695040888963407) % 2**64
        draws[i] = (state >> 11) / 2**53
    return draws


def points(seed, n):
    """n points of [0, 1]², drawn row by row (bench_points)."""
    return lcg(seed, 2 * n).reshape(n, 2)


def histogram(seed, n):
    """n weights 0.5 + u_i scaled to sum 1 (bench_histogram)."""
    h = 0.5 + lcg(seed, n)
    return h / h.sum()


def start_torch(config):
    """PyTorch in float64 on the config's threads (the caller sets OMP_NUM_THREADS and
    OpenBLAS's count, and the allocator, before the process starts)."""
    torch.set_num_threads(config["threads"])
    torch.set_default_dtype(torch.float64)


def timed(f, repeats, warmups=1):
    """f's last result and the seconds of `repeats` calls of f() after `warmups` untimed
    ones: {"median_s": ..., "runs_s": [...]}."""
    for _ in range(warmups):
        out = f()
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = f()
        runs.append(time.perf_counter() - t0)
    return out, {"median_s": statistics.median(runs), "runs_s": runs}


def print_result(result):
    print("RESULT " + json.dumps(result), flush=True)


def main(doc, worker, write_data):
    """The command line of a reference program: --worker CONFIG (JSON) runs worker on it,
    --data DIR runs write_data; anything else prints the program's doc and fails."""
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker(json.loads(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--data":
        write_data(sys.argv[2])
    else:
        sys.exit(doc)
