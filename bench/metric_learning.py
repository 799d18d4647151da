"""PyTorch + SuperLU's side of bench/metric_learning.c: ground metric learning on a grid graph
(Heitz et al. 2020), the energy E(z) at z = 0 (w = 1) and its gradient by autograd.

    metric_learning.py --worker '{"mode": "time", "n": n, "S": S, "backend": "splu",
                                  "repeats": r, "threads": t}'
    metric_learning.py --data DIR

The n×n grid of [0,1]², vertex r·n + c at (c, r)/(n − 1); its edges, horizontal then vertical,
each in row-major order, weighted w = exp(z).  The heat kernel K = M⁻ˢ, M = Id + c(D − W),
c = (n − 1)²ε/(4S), ε = 0.04, applies by S solves with one SuperLU factorisation of M per
evaluation, in an autograd.Function whose backward solves with Mᵀ and adds −c Σ (z_i − z_j)
(u_i − u_j) to w_ij's gradient for each solve u of the forward and its adjoint z.  The end
frames are Gaussians (σ = 0.08) at (0.2, 0.5) and (0.8, 0.5), the 8 others their barycenters
at t = k/9 (L = 50 iterations, the 16 columns at once) under w = 0.1 on the edges whose
midpoint lies within 0.15 of the centre, 1 elsewhere.  E(z) = n² Σ_k |P_k(w) − f_k|² +
0.03 Σ_e (Σ_e' (w_e − w_e'))², e' the edges of e's orientation a row or a column away.
Prints RESULT {"fwd": {...}, "fwdbwd": {"median_s": ..., "runs_s": [...]}, "energy_at_w1": ...,
"grad_norm": ...}: min(r, 2) values and r values + gradients, each timed, none a warm-up.
--data writes tests/data/w3's w_true, frames, [E, data term, smoothness term] and gradient at
w = 1 for n = 50 into DIR.
"""
import os

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from reference_tools import main, print_result, start_torch, timed

EPS, L, FRAMES, LAMBDA_S = 0.04, 50, 10, 0.03


class Grid:
    """The n×n grid graph: its edges (i, j), w_true, the ends' histograms (N×2), the frames'
    weights (8×2) and M's coefficient c."""

    def __init__(self, n, S):
        vertex = np.arange(n * n).reshape(n, n)
        self.n, self.S, self.c = n, S, (n - 1) ** 2 * EPS / (4 * S)
        self.i = np.concatenate([vertex[:, :-1].ravel(), vertex[:-1, :].ravel()])
        self.j = np.concatenate([vertex[:, 1:].ravel(), vertex[1:, :].ravel()])
        xy = np.stack([vertex % n, vertex // n], 2).reshape(-1, 2) / (n - 1)
        middle = (xy[self.i] + xy[self.j]) / 2
        self.w_true = np.where(((middle - 0.5) ** 2).sum(1) < 0.15**2, 0.1, 1.0)
        ends = [np.exp(-((xy - centre) ** 2).sum(1) / (2 * 0.08**2))
                for centre in ((0.2, 0.5), (0.8, 0.5))]
        self.ends = torch.tensor(np.stack([end / end.sum() for end in ends], 1))
        t = np.arange(1, FRAMES - 1) / (FRAMES - 1)
        self.weights = torch.tensor(np.stack([1 - t, t], 1))

    def factor(self, w):
        N = self.n * self.n
        W = sp.coo_matrix((w, (self.i, self.j)), shape=(N, N))
        W = W + W.T
        M = sp.identity(N) + self.c * (sp.diags(np.asarray(W.sum(1)).ravel()) - W)
        return spla.splu(M.tocsc(), permc_spec="MMD_AT_PLUS_A")


class HeatKernel(torch.autograd.Function):
    """M⁻ˢ V for V of N×B; w the edge weights, lu M's factors."""

    @staticmethod
    def forward(ctx, V, w, grid, lu):
        X, solves = V.detach().numpy(), []
        for _ in range(grid.S):
            X = lu.solve(X)
            solves.append(X)
        ctx.grid, ctx.lu, ctx.solves = grid, lu, solves
        return torch.from_numpy(np.ascontiguousarray(X))

    @staticmethod
    def backward(ctx, G):
        grid, n = ctx.grid, ctx.grid.n
        g, horizontal, vertical = G.numpy(), np.zeros((n, n - 1)), np.zeros((n - 1, n))
        for u in reversed(ctx.solves):
            g = ctx.lu.solve(g, trans="T")
            z3, u3 = g.reshape(n, n, -1), u.reshape(n, n, -1)
            horizontal -= grid.c * (np.diff(z3, axis=1) * np.diff(u3, axis=1)).sum(2)
            vertical -= grid.c * (np.diff(z3, axis=0) * np.diff(u3, axis=0)).sum(2)
        ctx.solves = None
        grad_w = np.concatenate([horizontal.ravel(), vertical.ravel()])
        return torch.from_numpy(np.ascontiguousarray(g)), torch.from_numpy(grad_w), None, None


def barycenters(grid, w):
    """The N×8 frames between the ends under w; V and K u hold a column for each frame and
    end (N×8×2), the kernel applying to the 16 at once."""
    lu = grid.factor(w.detach().numpy())
    N, F = grid.n**2, FRAMES - 2
    V = torch.ones(N, F, 2)
    for _ in range(L):
        KV = HeatKernel.apply(V.reshape(N, 2 * F), w, grid, lu).reshape(N, F, 2)
        Ku = HeatKernel.apply((grid.ends[:, None, :] / KV).reshape(N, 2 * F), w, grid, lu)
        Ku = Ku.reshape(N, F, 2)
        frames = torch.exp((grid.weights * torch.log(Ku)).sum(2))
        V = frames[:, :, None] / Ku
    return frames


def smoothness(grid, w):
    """Σ_e (Σ_e' (w_e − w_e'))² over each orientation's (n, n − 1) or (n − 1, n) array."""
    n, total = grid.n, 0
    for A in (w[:n * (n - 1)].reshape(n, n - 1), w[n * (n - 1):].reshape(n - 1, n)):
        laplacian, down, right = torch.zeros_like(A), A[1:] - A[:-1], A[:, 1:] - A[:, :-1]
        laplacian[1:] += down
        laplacian[:-1] -= down
        laplacian[:, 1:] += right
        laplacian[:, :-1] -= right
        total = total + (laplacian**2).sum()
    return total


def energy(grid, targets, z):
    """The data term and the smoothness term at z."""
    w = torch.exp(z)
    data = grid.n**2 * ((barycenters(grid, w) - targets) ** 2).sum()
    return data, LAMBDA_S * smoothness(grid, w)


def setup(n, S):
    """The grid and the frames under w_true."""
    grid = Grid(n, S)
    with torch.no_grad():
        return grid, barycenters(grid, torch.tensor(grid.w_true))


def gradient(grid, targets, z):
    z = torch.tensor(z, requires_grad=True)
    data, smooth = energy(grid, targets, z)
    (data + smooth).backward()
    return float(data), float(smooth), z.grad.numpy()


def worker(config):
    if config["mode"] != "time" or config["backend"] != "splu":
        raise ValueError("only the mode time and the backend splu")
    start_torch(config)
    grid, targets = setup(config["n"], config["S"])
    z = np.zeros(len(grid.w_true))

    def value():
        with torch.no_grad():
            data, smooth = energy(grid, targets, torch.tensor(z))
        return float(data + smooth)
    _, fwd = timed(value, min(config["repeats"], 2), 0)
    (data, smooth, grad), fwdbwd = timed(lambda: gradient(grid, targets, z), config["repeats"], 0)
    print_result({"n": grid.n, "S": grid.S, "L": L, "eps": EPS, "fwd": fwd, "fwdbwd": fwdbwd,
                  "energy_at_w1": data + smooth, "grad_norm": float(np.linalg.norm(grad))})


def write_data(directory, n=50, S=20):
    torch.set_default_dtype(torch.float64)
    grid, targets = setup(n, S)
    data, smooth, grad = gradient(grid, targets, np.zeros(len(grid.w_true)))
    ends = grid.ends.numpy().T
    arrays = {"w_true": grid.w_true, "frames": np.concatenate([ends[:1], targets.T, ends[1:]]),
              "energy_at_w1": [data + smooth, data, smooth], "grad_z_at_w1": grad}
    for name, array in arrays.items():
        np.save(os.path.join(directory, f"n{n}_{name}.npy"), np.ascontiguousarray(array))


if __name__ == "__main__":
    main(__doc__, worker, write_data)
