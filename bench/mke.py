"""PyTorch's side of bench/mke.c: minimum Kantorovich estimation of three ellipses, the Sinkhorn
loss W_L between 600 model points and 1800 data points, its gradient to the 18 parameters θ by
autograd, and its fit by L-BFGS.

    mke.py --worker '{"threads": t, "fit": false | true, "max_iter": m}'
    mke.py --data DIR

Ellipse k (centre c_k, semi-axes, angle) has A_k = R(angle) diag(semi-axes); its 600 data
points are c_k + A_k (r cos φ, r sin φ), r = √u₁ and φ = 2πu₂ for each pair of draws of the
LCG of reference_tools.py seeded with 1000 + k.  The model's points are m_k + A_k z_j for the
200 points z_j of a Vogel spiral on the unit disk (radius √((j + ½)/200), angle jπ(3 − √5)),
θ = (m_k, A_k row by row) for k = 0, 1, 2, from m_k given and A_k = 0.1 I.  Uniform weights,
W_L as in sinkhorn_loss.py with ε = 0.01 and L = 100.  Prints RESULT {"fwd": {...}, "fwdbwd":
{"median_s": ..., "runs_s": [...]}, "loss_init": ..., "grad_init_norm": ...}, 5 calls of each
timed after one untimed, and with "fit": true also "lbfgs": {"n_iter", "n_evals", "total_s",
"time_per_eval_mean_s", "final_loss" (the last evaluated), "center_err_max" (the largest
|m_k − c_k|)} of one step() of torch.optim.LBFGS (at most m iterations, default 100, and 2.5m
evaluations, memory 10, strong Wolfe, gradient tolerance 1e-12, change tolerance 1e-15).
--data writes tests/data/w4's data points, z, θ_init, θ_true and [loss, gradient] at θ_init
into DIR.
"""
import math
import os
import time

import numpy as np
import torch

from reference_tools import lcg, main, print_result, start_torch, timed

EPS, L, SAMPLES, DATA = 0.01, 100, 200, 600
ELLIPSES = (((0.25, 0.30), (0.15, 0.06), 30), ((0.72, 0.28), (0.12, 0.08), -45),
            ((0.50, 0.75), (0.20, 0.05), 80))  # centre, semi-axes, angle in degrees
START = ((0.35, 0.40), (0.60, 0.40), (0.50, 0.60))


def theta_true():
    """θ of the true ellipses."""
    theta = []
    for centre, axes, degrees in ELLIPSES:
        cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
        theta += [*centre, *(np.array([[cos, -sin], [sin, cos]]) @ np.diag(axes)).ravel()]
    return np.array(theta)


def data_points():
    """The 1800 data points, ellipse by ellipse."""
    theta, data = theta_true(), []
    for k in range(len(ELLIPSES)):
        u1, u2 = lcg(1000 + k, 2 * DATA).reshape(DATA, 2).T
        disk = np.stack([np.sqrt(u1) * np.cos(2 * math.pi * u2),
                         np.sqrt(u1) * np.sin(2 * math.pi * u2)], 1)
        data.append(theta[6 * k:6 * k + 2] + disk @ theta[6 * k + 2:6 * k + 6].reshape(2, 2).T)
    return np.concatenate(data)


def spiral():
    j = np.arange(SAMPLES)
    golden_angle = math.pi * (3 - math.sqrt(5))
    radius, angle = np.sqrt((j + 0.5) / SAMPLES), j * golden_angle
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1)


def theta_init():
    return np.array([v for centre in START for v in (*centre, 0.1, 0.0, 0.0, 0.1)])


def loss(theta, z, y):
    """W_L between the model's points at θ and the data points y, uniform weights."""
    x = torch.cat([theta[k:k + 2] + z @ theta[k + 2:k + 6].reshape(2, 2).T
                   for k in range(0, len(theta), 6)])
    a, b = torch.full((len(x),), 1 / len(x)), torch.full((len(y),), 1 / len(y))
    C = ((x[:, None, :] - y[None, :, :]) ** 2).sum(2)
    K = torch.exp(-C / EPS)
    v = torch.ones(len(y))
    for _ in range(L):
        u = a / (K @ v)
        v = b / (K.T @ u)
    return torch.dot(u, (K * C) @ v)


def loss_and_gradient(theta, z, y):
    theta = torch.tensor(theta, requires_grad=True)
    value = loss(theta, z, y)
    value.backward()
    return float(value), theta.grad


def fit(z, y, iterations):
    theta = torch.tensor(theta_init(), requires_grad=True)
    lbfgs = torch.optim.LBFGS([theta], lr=1, max_iter=iterations,
                              max_eval=int(2.5 * iterations), tolerance_grad=1e-12,
                              tolerance_change=1e-15, history_size=10,
                              line_search_fn="strong_wolfe")
    losses = []

    def closure():
        lbfgs.zero_grad()
        value = loss(theta, z, y)
        value.backward()
        losses.append(float(value))
        return value
    t0 = time.perf_counter()
    lbfgs.step(closure)
    seconds = time.perf_counter() - t0
    centres = (theta.detach().numpy() - theta_true()).reshape(-1, 6)[:, :2]
    return {"n_iter": lbfgs.state[theta]["n_iter"], "n_evals": len(losses), "total_s": seconds,
            "time_per_eval_mean_s": seconds / len(losses), "final_loss": losses[-1],
            "center_err_max": float(np.linalg.norm(centres, axis=1).max())}


def worker(config):
    start_torch(config)
    z, y, theta = torch.tensor(spiral()), torch.tensor(data_points()), theta_init()

    def value_only():
        with torch.no_grad():
            return float(loss(torch.tensor(theta), z, y))
    value, fwd = timed(value_only, 5)
    (_, grad), fwdbwd = timed(lambda: loss_and_gradient(theta, z, y), 5)
    result = {"eps": EPS, "L": L, "fwd": fwd, "fwdbwd": fwdbwd, "loss_init": value,
              "grad_init_norm": float(grad.norm())}
    if config.get("fit", True):
        result["lbfgs"] = fit(z, y, config.get("max_iter", 100))
    print_result(result)


def write_data(directory):
    torch.set_default_dtype(torch.float64)
    z, y = spiral(), data_points()
    value, grad = loss_and_gradient(theta_init(), torch.tensor(z), torch.tensor(y))
    arrays = {"data_points": y, "vogel_z": z, "theta_init": theta_init(),
              "theta_true": theta_true(), "loss_grad_at_init": [value, *grad.tolist()]}
    for name, array in arrays.items():
        np.save(os.path.join(directory, name + ".npy"), np.asarray(array))


if __name__ == "__main__":
    main(__doc__, worker, write_data)
