"""Flow-matching loss of a transformer by noise level s: on the held-out clips in a checkpoint's pools
(cpu_train.py's heldout_eval set, 32 clips at 33 x 64 and 33 x 128, and 129 x 128 once a chunk since
2026-12-07 has added it) with their prompts, with the empty prompt instead (what the text adds), and on
the first 32 training-pool clips of the same sizes.

usage: noise_level_loss.py POOLS.pt TRANSFORMER_DIR [--levels 0.1,0.3,0.5,0.7,0.85,0.95,0.99,1]"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import load_folder, make_dit  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("pools"); ap.add_argument("transformer")
ap.add_argument("--levels", type=lambda v: [float(x) for x in v.split(",")], default=[0.1, 0.3, 0.5, 0.7, 0.85, 0.95, 0.99, 1.0])
a = ap.parse_args()
dit = load_folder(make_dit, a.transformer).eval()
pools = torch.load(a.pools, map_location="cpu", weights_only=False)
text = pools["text"]
cap = {c: i for i, c in enumerate(text["captions"])}


def encoded(ids):
    return text["states"][ids].float(), text["mask"][ids].long(), text["pooled"][ids].float()


@torch.no_grad()
def losses(x0, states, mask, pooled):
    g, out = torch.Generator().manual_seed(1), []
    for level in a.levels:
        s = torch.full((x0.shape[0],), level)
        eps = torch.randn(x0.shape, generator=g)
        v = dit((1 - level) * x0 + level * eps, s * 1000, states, mask, pooled, return_dict=False)[0]
        out.append(round(((v - (eps - x0)) ** 2).mean().item(), 5))
    return out


print("s:", a.levels)
for e in pools["heldout_eval"]:
    n = e["x0"].shape[0]
    print(f"{e['F']}x{e['px']} held-out, prompt      ", losses(e["x0"], e["states"], e["mask"], e["pooled"]))
    print(f"{e['F']}x{e['px']} held-out, empty prompt", losses(e["x0"], *encoded(torch.full((n,), cap[""]))))
    b = pools["buckets"][(e["F"], e["px"])]
    ids = torch.tensor([cap[c[0]] for c in b["captions"][:n]])
    print(f"{e['F']}x{e['px']} training pool, prompt ", losses(torch.cat(b["lat"])[:n].float(), *encoded(ids)))
