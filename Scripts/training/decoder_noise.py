"""How the VAE decoder answers small latent errors (the transformer's are about this size): pool latents
(33 x 128, scaled units, std about 1) plus Gaussian noise of std e, decoded; pixel MSE against the clean
decode, and a picture (one row of frames 0, 8, 16, 24, 32 per clip and e).

usage: decoder_noise.py POOLS.pt VAE_DIR OUT.png [--clips 2] [--noise 0,0.1,0.2,0.4]
  decoder_noise.py ~/.cache/bottleneck/train/pools.pt Scripts/training/warmstart/vae /tmp/noise.png"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import load_folder, make_vae  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("pools"); ap.add_argument("vae"); ap.add_argument("out")
ap.add_argument("--clips", type=int, default=2)
ap.add_argument("--noise", type=lambda v: [float(x) for x in v.split(",")], default=[0.0, 0.1, 0.2, 0.4])
a = ap.parse_args()
vae = load_folder(make_vae, a.vae).eval()
pools = torch.load(a.pools, map_location="cpu", weights_only=False)
sf, b = pools["scaling_factor"], pools["buckets"][(33, 128)]
lat = torch.cat(b["lat"])[:a.clips].float()
rows = []
with torch.no_grad():
    for i in range(a.clips):
        clean = vae.decode(lat[i:i + 1] / sf).sample[0]  # [3, F, H, W] in [-1, 1]
        for e in a.noise:
            z = lat[i:i + 1] + e * torch.randn(lat[i:i + 1].shape, generator=torch.Generator().manual_seed(3))
            img = vae.decode(z / sf).sample[0]
            print(f"{b['captions'][i][0]!r} noise {e}: pixel MSE {((img - clean) ** 2).mean().item():.4f}")
            rows.append(np.concatenate(list(((img[:, ::8].clamp(-1, 1) + 1) / 2).permute(1, 2, 3, 0).numpy()), 1))
import matplotlib  # noqa: E402
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
plt.imsave(a.out, np.concatenate(rows, 0))
