"""How much colour a VAE's latents hold: encode training-world clips (9 frames, 64 px, posterior
mean), and for each latent cell (8 x 8 pixels x 4 frames; frames 1-8, the two full latent frames)
fit a least-squares map from the latent channels to the cell's mean RGB on 3/4 of the cells, then
report R^2 and the mean absolute colour error (0-255) on the rest, separately for background cells
(no object pixel) and object cells (over half object pixels). A transformer can only learn what
the latents hold, so a low object R^2 caps the whole pipeline (Docs/training.md).

usage: latent_probe.py VAE_DIR [--clips 400]"""
import argparse
import os
import sys

import torch
import torch.nn.functional as Fn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world  # noqa: E402
from diffusers import AutoencoderKLHunyuanVideo  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("vae")
ap.add_argument("--clips", type=int, default=400)
ap.add_argument("--threads", type=int, default=1)
a = ap.parse_args()
torch.set_num_threads(a.threads)
vae = AutoencoderKLHunyuanVideo.from_pretrained(a.vae, torch_dtype=torch.float32).eval()
cells = {"background": ([], []), "object": ([], [])}
with torch.no_grad():
    for b in range(0, a.clips, 16):
        clips = [world.make_clip(s) for s in range(90_000_000 + b, 90_000_000 + b + 16)]
        x = world.render_batch(clips, 9, 64, 64)
        mean, _ = vae.quant_conv(vae.encoder(x)).chunk(2, dim=1)
        bg = x[:, :, :1, :1, :1]
        obj = ((x - bg).abs().amax(1, keepdim=True) > 0.02).float()
        share = Fn.avg_pool3d(obj[:, :, 1:], (4, 8, 8)).flatten(1)          # [B, cells]
        rgb = Fn.avg_pool3d(x[:, :, 1:], (4, 8, 8)).flatten(2).transpose(1, 2)  # [B, cells, 3]
        lat = mean[:, :, 1:].flatten(2).transpose(1, 2)                      # [B, cells, C]
        for name, sel in (("background", share == 0), ("object", share > 0.5)):
            cells[name][0].append(lat[sel]); cells[name][1].append(rgb[sel])
for name, (xs, ys) in cells.items():
    X, Y = torch.cat(xs), torch.cat(ys)
    n = X.shape[0]; k = n * 3 // 4
    A = torch.cat([X, torch.ones(n, 1)], 1)
    w = torch.linalg.lstsq(A[:k], Y[:k]).solution
    p, t = A[k:] @ w, Y[k:]
    r2 = 1 - ((p - t) ** 2).sum().item() / ((t - t.mean(0)) ** 2).sum().item()
    print(f"{name} cells: {n}, held-out R^2 {r2:.3f}, mean colour error {(p - t).abs().mean().item() * 127.5:.1f}/255")
