import json, numpy as np, ot, sys
d = sys.argv[1]
x, y = np.load(f"{d}/n500_x.npy"), np.load(f"{d}/n500_y.npy")
a, b = np.load(f"{d}/n500_a.npy"), np.load(f"{d}/n500_b.npy")
C = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
P, log = ot.emd(a, b, C, numItermax=10**7, log=True)
print(ot.__version__, log["cost"], log["warning"], (P > 0).sum())
np.save(f"{d}/n500_emd_cost.npy", np.array(log["cost"]))
