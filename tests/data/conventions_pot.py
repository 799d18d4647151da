"""Reference data for tests/test_sinkhorn_conventions.c: the gradients POT 0.8
gives to the weights of sinkhorn2 and emd2.

POT's sinkhorn2 returns the transport cost <P, M> of its plan, and PyTorch
differentiates its iterations (v = b / K^T u, then u = a / K v: u's update is
the last), run here to convergence.  emd2 sets its gradients to the dual
potentials, each centred to mean 0.

Writes conventions/{x,y,a,b,sinkhorn2,sinkhorn2_grad_a,sinkhorn2_grad_b,emd2,
emd2_grad_a,emd2_grad_b,potential_a,potential_b}.npy: 6 and 5 points in the unit square, squared
distances, eps = 0.1, two columns of weights (a 6x2, b 5x2) of total masses
1 and 1.5 in both, values (2) and gradients (6x2, 5x2) column by column,
and the dual potentials eps log u, eps log v of ot.sinkhorn, centred.

    /usr/bin/python3 tests/data/conventions_pot.py   (from the repository root)
"""
import os

import numpy as np
import ot
import torch

EPS = 0.1
rng = np.random.default_rng(20261207)
x = rng.uniform(size=(6, 2))
y = rng.uniform(size=(5, 2))
a = rng.uniform(0.5, 1.5, size=(6, 2))
b = rng.uniform(0.5, 1.5, size=(5, 2))
a *= np.array([1.0, 1.5]) / a.sum(axis=0)
b *= np.array([1.0, 1.5]) / b.sum(axis=0)
M = torch.tensor(((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=2))

results = {name: [] for name in ("sinkhorn2", "sinkhorn2_grad_a", "sinkhorn2_grad_b",
                                 "emd2", "emd2_grad_a", "emd2_grad_b", "potential_a",
                                 "potential_b")}
for k in range(2):
    for name, solve in (("sinkhorn2", lambda p, q: ot.sinkhorn2(p, q, M, EPS, numItermax=100000,
                                                                stopThr=1e-15)),
                        ("emd2", lambda p, q: ot.emd2(p, q, M))):
        ak = torch.tensor(a[:, k], requires_grad=True)
        bk = torch.tensor(b[:, k], requires_grad=True)
        value = solve(ak, bk)
        value.backward()
        results[name].append(float(value))
        results[name + "_grad_a"].append(ak.grad.numpy())
        results[name + "_grad_b"].append(bk.grad.numpy())

    _, log = ot.sinkhorn(a[:, k], b[:, k], M.numpy(), EPS, numItermax=100000, stopThr=1e-15,
                         log=True)
    for side, scaling in (("a", log["u"]), ("b", log["v"])):
        potential = EPS * np.log(scaling)
        results["potential_" + side].append(potential - potential.mean())

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conventions")
os.makedirs(out, exist_ok=True)
for name, value in [("x", x), ("y", y), ("a", a), ("b", b)] + [
        (name, np.column_stack(v) if np.ndim(v[0]) else np.array(v))
        for name, v in results.items()]:
    np.save(os.path.join(out, name + ".npy"), np.asarray(value, dtype=np.float64))
print("sinkhorn2", results["sinkhorn2"], "emd2", results["emd2"])
