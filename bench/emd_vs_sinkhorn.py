"""POT's side of bench/emd_vs_sinkhorn.c: one solver on the C.npy, a.npy and
b.npy that the benchmark wrote, as a user calls it on the arrays in memory.

    emd_vs_sinkhorn.py --worker '{"dir": D, "solver": "exact" | "sinkhorn",
                                  "eps": e, "tolerance": t, "max_iterations": N,
                                  "repeats": r}'

"exact" is ot.emd2 (POT's network simplex, derived from LEMON); "sinkhorn" is
ot.sinkhorn2 (method "sinkhorn") stopped once the 2-norm of its column
marginal's error, measured every 10 iterations, is below t.  Prints one line
RESULT {"runs_s": [...], "cost": ..., "iterations": ...}: the seconds of 1 + r
calls, the first a warm-up.  The thread counts and the allocator come from the
caller's environment.
"""
import json
import os
import sys
import time
import warnings

import numpy as np
import ot


def worker(config):
    C, a, b = (np.load(os.path.join(config["dir"], f)) for f in ("C.npy", "a.npy", "b.npy"))
    # C is stored in Fortran order: copied to C order here, as ot.emd2 would
    C, a, b = np.ascontiguousarray(C), a.reshape(-1), b.reshape(-1)
    if config["solver"] == "exact":
        # POT's default of 1e5 pivots may stop short of the optimum at large n
        solve, options = ot.emd2, {"numItermax": 2**31 - 1}
    else:
        solve, options = ot.sinkhorn2, {"reg": config["eps"], "method": "sinkhorn",
                                        "numItermax": config["max_iterations"],
                                        "stopThr": config["tolerance"]}
    runs = []
    with warnings.catch_warnings():  # POT warns when Sinkhorn reaches numItermax
        warnings.simplefilter("ignore")
        for _ in range(1 + config["repeats"]):
            t0 = time.perf_counter()
            cost, log = solve(a, b, C, log=True, **options)
            runs.append(time.perf_counter() - t0)
    if log.get("warning") is not None:
        raise RuntimeError("ot.emd2: " + str(log["warning"]))
    result = {"runs_s": runs, "cost": float(cost), "iterations": log.get("niter", -1) + 1}
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--worker":
        sys.exit(__doc__)
    worker(json.loads(sys.argv[2]))
