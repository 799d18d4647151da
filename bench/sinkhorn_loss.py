"""PyTorch's side of bench/sinkhorn_loss.c: the Sinkhorn loss W_L between n points x and
n points y of [0,1]², and its gradients to the weights a and to x by autograd through the
iterations.

    sinkhorn_loss.py --worker '{"n": n, "tool": "torch_fwdbwd" | "torch_batched_fwdbwd",
                                "repeats": r, "warmup": w, "threads": t}'
    sinkhorn_loss.py --data DIR

The inputs come from the LCG of reference_tools.py: x from seed 1 and y from seed 2, a from
seed 3 and b from seed 4; "torch_batched_fwdbwd" takes 16 histograms b_k from seeds 100 + k
instead (the columns of b) and sums their losses.  C_ij = |x_i − y_j|² from differences,
K = exp(−C/ε), ε = 0.05; v = 1, then L = 100 times u = a / K v, v = b / Kᵀu; W_L = uᵀ(K∘C)v.
Prints RESULT {"fwdbwd": {"median_s": ..., "runs_s": [...]}, "value": ..., "grad_x_norm": ...,
"grad_a_norm": ...}: r calls of value + gradient timed after w untimed ones.  --data writes
tests/data/w1's inputs, values and gradients at n = 500 into DIR.
"""
import os

import numpy as np
import torch

from reference_tools import histogram, main, points, print_result, start_torch, timed

EPS, L, BATCH = 0.05, 100, 16


def inputs(n, batch):
    """x, y, a and b (n, or n×batch for several histograms) as arrays."""
    if batch == 1:
        b = histogram(4, n)
    else:
        b = np.stack([histogram(100 + k, n) for k in range(batch)], 1)
    return points(1, n), points(2, n), histogram(3, n), b


def sinkhorn(x, y, a, b):
    """u, v after L iterations and W_L, one for each column of b when it has several."""
    C = ((x[:, None, :] - y[None, :, :]) ** 2).sum(2)
    K = torch.exp(-C / EPS)
    if b.dim() == 2:
        a = a[:, None]
    v = torch.ones_like(b)
    for _ in range(L):
        u = a / (K @ v)
        v = b / (K.T @ u)
    return u, v, (u * ((K * C) @ v)).sum(0)


def value_and_gradient(x, y, a, b):
    """Σ W_L and its gradients to x and a, from x and a given as arrays."""
    x, a = torch.tensor(x, requires_grad=True), torch.tensor(a, requires_grad=True)
    value = sinkhorn(x, y, a, b)[2].sum()
    value.backward()
    return float(value), x.grad, a.grad


def worker(config):
    start_torch(config)
    batch = {"torch_fwdbwd": 1, "torch_batched_fwdbwd": BATCH}[config["tool"]]
    x, y, a, b = inputs(config["n"], batch)
    y, b = torch.tensor(y), torch.tensor(b)
    (value, grad_x, grad_a), seconds = timed(lambda: value_and_gradient(x, y, a, b),
                                             config["repeats"], config["warmup"])
    print_result({"fwdbwd": seconds, "n": config["n"], "B": batch, "eps": EPS, "L": L,
                  "value": value, "grad_x_norm": float(grad_x.norm()),
                  "grad_a_norm": float(grad_a.norm())})


def write_data(directory, n=500):
    """n500_*.npy: the inputs (bb: the 16 histograms in rows), W_L, its gradients, the last u
    and v, and the batched loss's values and gradients."""
    torch.set_default_dtype(torch.float64)
    arrays = {}
    for batch, prefix in ((1, ""), (BATCH, "batched_")):
        x, y, a, b = inputs(n, batch)
        xt, at = torch.tensor(x, requires_grad=True), torch.tensor(a, requires_grad=True)
        u, v, values = sinkhorn(xt, torch.tensor(y), at, torch.tensor(b))
        values.sum().backward()
        arrays.update({prefix + "grad_x": xt.grad, prefix + "grad_a": at.grad})
        if batch == 1:
            arrays.update(x=x, y=y, a=a, b=b, W=values.reshape(1), u_final=u, v_final=v)
        else:
            arrays.update(bb=b.T, batched_W_per_k=values)
    for name, array in arrays.items():
        array = array.detach().numpy() if torch.is_tensor(array) else array
        np.save(os.path.join(directory, f"n{n}_{name}.npy"), np.ascontiguousarray(array))


if __name__ == "__main__":
    main(__doc__, worker, write_data)
