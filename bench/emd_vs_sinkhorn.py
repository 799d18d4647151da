"""POT's side of bench/emd_vs_sinkhorn.c: the exact cost (ot.emd2, POT's
network simplex derived from LEMON) and Sinkhorn's <P, C> (ot.sinkhorn2,
method 'sinkhorn') on the C.npy, a.npy and b.npy the benchmark wrote.

    emd_vs_sinkhorn.py --worker '{"dir": D, "eps": e, "tolerances": [1e-2, 1e-4],
                                  "iterations": [65, 290], "repeats": r,
                                  "max_iterations": N}'

Prints one line RESULT {"emd": {...}, "s0": {...}, "f0": {...}, ...}: median
seconds of r calls each, from the arrays in memory (POT builds its kernel, and
its dense plan, inside the call), the cost, Sinkhorn's iterations and its last
marginal error (the 2-norm of the column marginal's error, measured every 10
iterations).  s<k>: Sinkhorn stopped at tolerances[k]; f<k>: exactly
iterations[k] iterations (otad's count at that tolerance, so that the time
per iteration compares).  C is read in Fortran order and copied to C order
before the clock starts, as ot.emd2 would copy it.  The thread counts are set
by the caller's environment.
"""
import json
import os
import statistics
import sys
import time
import warnings

import numpy as np
import ot


def timed(f, repeats):
    times, value = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = f()
        times.append(time.perf_counter() - t0)
    return statistics.median_low(times), value


def exact(a, b, C, repeats):
    # POT's default numItermax (1e5 pivots) suffices up to 4096 here; larger
    # sizes must not stop short of the optimum, which log["warning"] reports
    seconds, (cost, log) = timed(lambda: ot.emd2(a, b, C, numItermax=2**31 - 1, log=True),
                                 repeats)
    if log["warning"] is not None:
        raise RuntimeError("ot.emd2: " + str(log["warning"]))
    return {"seconds": seconds, "cost": float(cost), "iterations": 0, "marginal": 0}


def sinkhorn(a, b, C, eps, tolerance, max_iterations, repeats):
    """Stopped at the tolerance, or after max_iterations with tolerance 0."""
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ot.sinkhorn2(a, b, C, eps, method="sinkhorn", numItermax=max_iterations,
                                stopThr=tolerance, log=True)

    seconds, (cost, log) = timed(run, repeats)
    return {"seconds": seconds, "cost": float(cost), "iterations": int(log["niter"]) + 1,
            "marginal": float(log["err"][-1])}


def progress(n, what, seconds):
    if n >= 1024:
        print("    n = %d: %s (POT), %.1f s" % (n, what, seconds), file=sys.stderr, flush=True)


def worker(config):
    d = config["dir"]
    C = np.ascontiguousarray(np.load(os.path.join(d, "C.npy")))
    a = np.load(os.path.join(d, "a.npy")).reshape(-1)
    b = np.load(os.path.join(d, "b.npy")).reshape(-1)
    n, repeats = C.shape[0], int(config["repeats"])
    result = {"emd": exact(a, b, C, repeats)}
    progress(n, "exact solve", result["emd"]["seconds"])
    for k, tolerance in enumerate(config["tolerances"]):
        s = sinkhorn(a, b, C, config["eps"], tolerance, int(config["max_iterations"]), repeats)
        result["s%d" % k] = s
        progress(n, "Sinkhorn", s["seconds"])
        fixed = sinkhorn(a, b, C, config["eps"], 0, int(config["iterations"][k]), repeats)
        result["f%d" % k] = fixed
        progress(n, "Sinkhorn, otad's iterations", fixed["seconds"])
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--worker":
        sys.exit(__doc__)
    worker(json.loads(sys.argv[2]))
