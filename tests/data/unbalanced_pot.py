"""Reference data for tests/test_unbalanced.c: POT 0.8's unbalanced Sinkhorn
and unbalanced barycenters.

otad solves min_P <P, C> + eps KL(P | a(x)b) + rho KL(P1 | a) + rho KL(P^T 1 | b)
with the generalised KL.  POT 0.8's sinkhorn_unbalanced regularises with
eps * sum P (log P - 1) instead; given the cost C - eps (log a_i + log b_j) it
solves the same problem, so it is called with that cost.  The plan is POT's;
the transport cost <P, C> and the objective above are computed here from the
plan entry by entry (not through the potentials, as otad does).

Writes unbalanced/{x,y,a,b,plan,cost,objective}.npy: 7 and 5 points in the
unit square, squared distances, eps = 0.1, rho = 0.5, two columns of masses
(a 7x2, b 5x2; totals 1 and 1.6 in the first column, 0.7 and 1.2 in the
second), plans 7x5 per column stacked as 14x5.

Barycenters: POT 0.8's barycenter_unbalanced_sinkhorn (Chizat et al. 2018,
the entropy eps * sum P (log P - 1), as otad's) of three histograms on 12
points of [0, 1] (cost (i - j)^2 / 11^2, eps = 0.05, rho = 0.5, masses 1,
0.6 and 1.5) with two weight vectors, after exactly 30 iterations
(stopThr = 0) and after 3000: unbalanced/{bary_cost,bary_inputs,
bary_weights,bary_30,bary_3000}.npy (12x12, 12x3, 3x2, 12x2, 12x2).

    /usr/bin/python3 tests/data/unbalanced_pot.py   (from the repository root)
"""
import os

import numpy as np
import ot

EPS, RHO = 0.1, 0.5
rng = np.random.default_rng(20261207)
x = rng.uniform(size=(7, 2))
y = rng.uniform(size=(5, 2))
a = rng.uniform(0.5, 1.5, size=(7, 2))
b = rng.uniform(0.5, 1.5, size=(5, 2))
a *= np.array([1.0, 0.7]) / a.sum(axis=0)
b *= np.array([1.6, 1.2]) / b.sum(axis=0)
C = ((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=2)


def kl(p, q):
    return np.sum(p * np.log(p / q) - p + q)


plans, costs, objectives = [], [], []
for k in range(2):
    shifted = C - EPS * (np.log(a[:, k])[:, None] + np.log(b[:, k])[None, :])
    P = ot.unbalanced.sinkhorn_unbalanced(a[:, k], b[:, k], shifted, EPS, RHO,
                                          numItermax=100000, stopThr=1e-16)
    plans.append(P)
    costs.append(np.sum(P * C))
    objectives.append(np.sum(P * C) + EPS * kl(P, np.outer(a[:, k], b[:, k]))
                      + RHO * kl(P.sum(axis=1), a[:, k]) + RHO * kl(P.sum(axis=0), b[:, k]))

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "unbalanced")
os.makedirs(out, exist_ok=True)
for name, value in [("x", x), ("y", y), ("a", a), ("b", b), ("plan", np.vstack(plans)),
                    ("cost", np.array(costs)), ("objective", np.array(objectives))]:
    np.save(os.path.join(out, name + ".npy"), np.asarray(value, dtype=np.float64))
print("costs", costs, "objectives", objectives)

GRID, BARY_EPS = 12, 0.05
grid = np.arange(GRID) / (GRID - 1.0)
bary_cost = (grid[:, None] - grid[None, :]) ** 2
inputs = rng.uniform(0.1, 1.0, size=(GRID, 3))
inputs *= np.array([1.0, 0.6, 1.5]) / inputs.sum(axis=0)
weights = np.array([[0.2, 0.5], [0.3, 0.25], [0.5, 0.25]])
bary = {}
for iterations in (30, 3000):
    bary[iterations] = np.column_stack([
        ot.unbalanced.barycenter_unbalanced_sinkhorn(inputs, bary_cost, BARY_EPS, RHO,
                                                     weights=weights[:, f],
                                                     numItermax=iterations, stopThr=0)
        for f in range(2)])
for name, value in [("bary_cost", bary_cost), ("bary_inputs", inputs),
                    ("bary_weights", weights), ("bary_30", bary[30]),
                    ("bary_3000", bary[3000])]:
    np.save(os.path.join(out, name + ".npy"), np.asarray(value, dtype=np.float64))
print("barycenter masses", bary[3000].sum(axis=0))
