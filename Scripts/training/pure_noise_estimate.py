"""What the prompt alone draws: a transformer's clean-clip estimate at s = 1 (pure noise in, x0 = eps - v,
averaged over 4 noise draws), decoded beside the ground truth, for the first 4 training-pool clips and the
first 4 held-out clips at 33 x 128 of a checkpoint's pools (frames 0, 16 and 32; truth left). Sampling
starts from this estimate; cpu_train.py logs how much of the objects it holds as `s1_object_r2`.

usage: pure_noise_estimate.py POOLS.pt TRANSFORMER_DIR VAE_DIR OUT.png"""
import argparse
import os
import sys

import numpy as np
import torch
from diffusers import AutoencoderKLHunyuanVideo
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import load_folder, make_dit  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("pools"); ap.add_argument("transformer"); ap.add_argument("vae"); ap.add_argument("out")
a = ap.parse_args()
pools = torch.load(a.pools, map_location="cpu", weights_only=False)
dit = load_folder(make_dit, a.transformer).float().eval()
vae = AutoencoderKLHunyuanVideo.from_pretrained(a.vae, torch_dtype=torch.float32).eval()
text = pools["text"]
ids = torch.tensor([text["captions"].index(c[0]) for c in pools["buckets"][(33, 128)]["captions"][:4]])
held = next(e for e in pools["heldout_eval"] if e["px"] == 128)
x0 = torch.cat([torch.cat(pools["buckets"][(33, 128)]["lat"])[:4].float(), held["x0"][:4]])  # [8, C, T, h, w], scaled
cond = [torch.cat([text[k][ids].to(held[k].dtype), held[k][:4]]) for k in ("states", "mask", "pooled")]
g = torch.Generator().manual_seed(5)
with torch.no_grad():
    est = torch.stack([eps - dit(eps, torch.full((8,), 1000.0), *cond, return_dict=False)[0]
                       for eps in (torch.randn(x0.shape, generator=g) for _ in range(4))]).mean(0)
    rows = []
    for i in range(8):
        pair = []
        for z in (x0[i:i + 1], est[i:i + 1]):
            rgb = vae.decoder(vae.post_quant_conv(z / pools["scaling_factor"])).clamp(-1, 1)[0]  # [3, F, H, W]
            pair.append(np.concatenate([((rgb[:, f].permute(1, 2, 0).numpy() + 1) * 127.5).astype(np.uint8)
                                        for f in (0, 16, 32)], axis=1))
        rows.append(np.concatenate([pair[0], np.full((pair[0].shape[0], 6, 3), 255, np.uint8), pair[1]], axis=1))
Image.fromarray(np.concatenate(rows, axis=0)).quantize(256).save(a.out)
print(f"{a.out}: rows 1-4 training-pool clips, 5-8 held-out (left: truth, right: the estimate at s = 1)")
