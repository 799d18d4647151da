"""POT's lazy Sinkhorn (ot.bregman.empirical_sinkhorn2 with isLazy=True, NumPy), the reference
of bench/online_pot.c: the transport cost <P, C> of the entropic plan between n points x and n
points y of [0, 1]^3, C the squared Euclidean distance, uniform weights, eps = 0.01, after L
log-domain updates (numIterMax = L, stopThr = 0, so that every update runs).  POT computes the
cost matrix a block of rows at a time (batchSize rows, default 100) and never stores it; it
gives no gradient with NumPy.

x and y are 3n draws each of the generator of reference_tools.py, seeded with 1 and 2, taken
row by row (bench_points_in of bench/protocol.c).

  online_pot.py --worker '{"n": 10000, "iterations": 10, "threads": 1, "repeats": 1}'

times the value for batchSize 100 and 1000 after a warm-up of each and prints the faster
("median_s") with its batch size and the value.
"""
import warnings

import numpy as np
import ot

from reference_tools import lcg, main, print_result, timed

EPS = 0.01


def points3(seed, n):
    return lcg(seed, 3 * n).reshape(n, 3)


def worker(config):
    n, iterations = config["n"], config["iterations"]
    x, y = points3(1, n), points3(2, n)
    a = np.full(n, 1.0 / n)
    best = None
    for batch in (100, 1000):
        def value():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "did not converge": every update is wanted
                return ot.bregman.empirical_sinkhorn2(x, y, EPS, a, a, numIterMax=iterations,
                                                      stopThr=0, isLazy=True, batchSize=batch)
        loss, times = timed(value, config.get("repeats", 1))
        if best is None or times["median_s"] < best["median_s"]:
            best = {"median_s": times["median_s"], "batch": batch, "value": float(loss)}
    print_result(best)


def write_data(directory):
    raise SystemExit("online_pot.py writes no test data")


if __name__ == "__main__":
    main(__doc__, worker, write_data)
