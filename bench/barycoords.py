"""PyTorch's side of bench/barycoords.c: Wasserstein barycentric coordinates (Bonneel, Peyré and
Cuturi 2016), the loss |P_L(softmax θ) − q|² and its gradient by autograd, and its fit.

    barycoords.py --worker '{"N": N, "tool": "torch_fwdbwd" | "lbfgs", "repeats": r,
                             "warmup": w, "threads": t, "max_iter": m}'
    barycoords.py --data DIR

Five soft shapes on the N×N grid of [0,1]² (examples/w2_database.h: pixel (r, c) at
(c, r)/(N − 1)), each normalised, plus 1e-10, normalised again; the separable kernel
K(X) = K₁XK₁, K₁ = exp(−(t_i − t_j)²/ε), ε = 2e-3; P_L(λ): v_s = 1, then L = 50 times
u_s = p_s / K(v_s), P = Π_s K(u_s)^λ_s (through exp and log), v_s = P / K(u_s).
q = P_L(λ_true).  "torch_fwdbwd" times r calls of loss + gradient at θ = 0 after w untimed
ones: RESULT {"fwdbwd": {"median_s": ..., "runs_s": [...]}, "loss_at_theta0": ...,
"grad_at_theta0": [...]}.  "lbfgs" times one step() of torch.optim.LBFGS from θ = 0 (at most
m iterations and 2m evaluations, memory 10, strong Wolfe, no tolerances): RESULT {"total_s":
..., "n_evals": ..., "final_loss": the last evaluated, "lambda_err_l1": |λ − λ_true|₁}.
--data writes tests/data/w2's database, q, λ_true and P_L at uniform λ for N = 64 into DIR.
"""
import os
import time

import numpy as np
import torch

from reference_tools import main, print_result, start_torch, timed

EPS, L = 2e-3, 50
LAMBDA_TRUE = (0.1, 0.4, 0.2, 0.25, 0.05)


def database(N):
    """The S×N×N shapes: Gaussian blob, disk, ring, square, cross."""
    t = np.arange(N) / (N - 1)
    x, y = t[None, :], t[:, None]

    def soft(d):  # the indicator of d < 0, its edge 0.01 wide
        return 1 / (1 + np.exp(np.clip(d / 0.01, -700, 700)))
    dx, dy = abs(x - 0.5), abs(y - 0.5)
    shapes = [np.exp(-((x - 0.25) ** 2 + (y - 0.25) ** 2) / (2 * 0.07**2)),
              soft(np.sqrt((x - 0.75) ** 2 + (y - 0.25) ** 2) - 0.15),
              soft(abs(np.sqrt((x - 0.25) ** 2 + (y - 0.72) ** 2) - 0.13) - 0.04),
              soft(np.maximum(abs(x - 0.72), abs(y - 0.72)) - 0.13),
              soft(np.minimum(np.maximum(dx - 0.2, dy - 0.05), np.maximum(dx - 0.05, dy - 0.2)))]
    database = []
    for shape in shapes:
        p = shape / shape.sum() + 1e-10
        database.append(p / p.sum())
    return np.stack(database)


def barycenter(weights, P, K1):
    """P_L(weights) for the histograms P (S×N×N)."""
    v = torch.ones_like(P)
    for _ in range(L):
        Ku = K1 @ (P / (K1 @ v @ K1)) @ K1
        bary = torch.exp((weights[:, None, None] * torch.log(Ku)).sum(0))
        v = bary / Ku
    return bary


def problem(N):
    """The database, K₁ and q as tensors."""
    t = np.arange(N) / (N - 1)
    P, K1 = torch.tensor(database(N)), torch.tensor(np.exp(-(t[:, None] - t[None, :]) ** 2 / EPS))
    with torch.no_grad():
        return P, K1, barycenter(torch.tensor(LAMBDA_TRUE), P, K1)


def fit(P, K1, q, iterations):
    theta = torch.zeros(len(P), requires_grad=True)
    lbfgs = torch.optim.LBFGS([theta], lr=1, max_iter=iterations, max_eval=2 * iterations,
                              tolerance_grad=1e-300, tolerance_change=1e-300, history_size=10,
                              line_search_fn="strong_wolfe")
    losses = []

    def closure():
        lbfgs.zero_grad()
        loss = ((barycenter(torch.softmax(theta, 0), P, K1) - q) ** 2).sum()
        loss.backward()
        losses.append(float(loss))
        return loss
    t0 = time.perf_counter()
    lbfgs.step(closure)
    seconds = time.perf_counter() - t0
    error = (torch.softmax(theta.detach(), 0) - torch.tensor(LAMBDA_TRUE)).abs().sum()
    return {"total_s": seconds, "n_evals": len(losses), "final_loss": losses[-1],
            "lambda_err_l1": float(error)}


def worker(config):
    start_torch(config)
    P, K1, q = problem(config["N"])

    def loss_and_gradient():
        theta = torch.zeros(len(P), requires_grad=True)
        loss = ((barycenter(torch.softmax(theta, 0), P, K1) - q) ** 2).sum()
        loss.backward()
        return float(loss), theta.grad.tolist()
    if config["tool"] == "torch_fwdbwd":
        (loss, grad), seconds = timed(loss_and_gradient, config["repeats"], config["warmup"])
        result = {"fwdbwd": seconds, "loss_at_theta0": loss, "grad_at_theta0": grad}
    elif config["tool"] == "lbfgs":
        result = fit(P, K1, q, config["max_iter"])
    else:
        raise ValueError("unknown tool " + config["tool"])
    print_result({"N": config["N"], "eps": EPS, "L": L, **result})


def write_data(directory, N=64):
    torch.set_default_dtype(torch.float64)
    P, K1, q = problem(N)
    with torch.no_grad():
        uniform = barycenter(torch.full((len(P),), 1 / len(P)), P, K1)
    for name, array in ((f"N{N}_database", P), (f"N{N}_q", q), ("lambda_true", LAMBDA_TRUE),
                        (f"N{N}_bary_uniform", uniform)):
        np.save(os.path.join(directory, name + ".npy"), np.asarray(array))


if __name__ == "__main__":
    main(__doc__, worker, write_data)
