"""Can the transformer fit what it is shown? The committed warm-start transformer trained on 8 pool clips
(33 x 128, single moving objects) alone for SECONDS, as cpu_train.py trains (text dropout 0.1, noise levels
shifted by 3), then sampled in Python (Euler, 50 steps, the scheduler's shift 3, guidance 1 and 6) on three
of their own captions: object centroids (x, y, pixels) every 8th frame against the clip's decoded ground
truth, and a picture (per clip: truth, guidance 1, truth, guidance 6).

usage: overfit_check.py POOLS.pt SECONDS OUT.png"""
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from models import load_folder, make_dit, make_vae  # noqa: E402

pools_path, seconds, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
torch.set_num_threads(2)


WARM = os.path.join(HERE, "warmstart")
dit, vae = load_folder(make_dit, os.path.join(WARM, "transformer")), load_folder(make_vae, os.path.join(WARM, "vae")).eval()
pools = torch.load(pools_path, map_location="cpu", weights_only=False)
sf, text = pools["scaling_factor"], pools["text"]
ci = {c: i for i, c in enumerate(text["captions"])}
u = ci[""]
b = pools["buckets"][(33, 128)]
lat = torch.cat(b["lat"])
pick = [i for i, c in enumerate(b["captions"]) if " and " not in c[0] and "still" not in c[0]][:8]
x0s = lat[pick].float()  # [8, 16, 9, 16, 16] scaled latents
idx = torch.tensor([ci[b["captions"][i][0]] for i in pick])
S, M, P = text["states"][idx].float(), text["mask"][idx].long(), text["pooled"][idx].float()

opt = torch.optim.AdamW(dit.parameters(), lr=3e-4, weight_decay=0.0)
g = torch.Generator().manual_seed(0)
t0, step = time.time(), 0
dit.train()
while time.time() - t0 < seconds:
    s = torch.sigmoid(torch.randn(8, generator=g))
    s = (3 * s / (1 + 2 * s)).clamp(1e-4, 1)
    eps = torch.randn(x0s.shape, generator=g)
    drop = torch.rand(8, generator=g) < 0.1
    Sd = torch.where(drop.view(-1, 1, 1), text["states"][u].float(), S)
    Md = torch.where(drop.view(-1, 1), text["mask"][u].long(), M)
    Pd = torch.where(drop.view(-1, 1), text["pooled"][u].float(), P)
    sv = s.view(-1, 1, 1, 1, 1)
    pred = dit((1 - sv) * x0s + sv * eps, s * 1000, Sd, Md, Pd, return_dict=False)[0]
    loss = ((pred - (eps - x0s)) ** 2).mean()
    opt.zero_grad(); loss.backward(); opt.step(); step += 1
    if step % 50 == 0:
        print(f"step {step} loss {loss.item():.4f}", flush=True)
dit.eval()


def centroids(img):
    """(x, y, pixels) of what differs from the top-left corner's colour, every 8th frame."""
    bg = img[:, :, :4, :4].mean((2, 3), keepdim=True)
    mask = (img - bg).abs().sum(0) > 0.5
    ys, xs = torch.meshgrid(torch.arange(img.shape[2]), torch.arange(img.shape[3]), indexing="ij")
    return [(round((xs * mask[f]).sum().item() / max(1, mask[f].sum().item())),
             round((ys * mask[f]).sum().item() / max(1, mask[f].sum().item())), int(mask[f].sum()))
            for f in range(0, img.shape[1], 8)]


def row(img):
    return np.concatenate(list(((img[:, ::8].clamp(-1, 1) + 1) / 2).permute(1, 2, 3, 0).numpy()), 1)


ts = torch.linspace(1, 0, 51)
ts = 3 * ts / (1 + 2 * ts)
rows = []
for j in range(3):
    with torch.no_grad():
        truth = vae.decode(x0s[j:j + 1] / sf).sample[0]
    for guidance in (1.0, 6.0):
        x = torch.randn(1, 16, 9, 16, 16, generator=torch.Generator().manual_seed(100 + j))
        for k in range(50):
            with torch.no_grad():
                v = dit(torch.cat([x, x]), torch.full((2,), float(ts[k]) * 1000),
                        torch.stack([S[j], text["states"][u].float()]), torch.stack([M[j], text["mask"][u].long()]),
                        torch.stack([P[j], text["pooled"][u].float()]), return_dict=False)[0]
            x = x + (ts[k + 1] - ts[k]) * (v[1] + guidance * (v[0] - v[1]))
        with torch.no_grad():
            img = vae.decode(x / sf).sample[0]
        print(f"{b['captions'][pick[j]][0]!r}, guidance {guidance}:\n  truth {centroids(truth)}\n  model {centroids(img)}")
        rows += [row(truth), row(img)]
import matplotlib  # noqa: E402
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
plt.imsave(out, np.concatenate(rows, 0))
