"""A/B of VAE recipes from the trainer's checkpoint: continue its raw weights (not the EMA) for a
wall-clock budget on one thread, with the same data for every arm (one-frame batch-32 and 9-frame
batch-8 64² crops alternating, the trainer's loss), and print the mean absolute error (0-255) on
background and on object pixels of held-out prompts 0-23 (9 frames, 128²) every 50 steps.

usage: vae_ab.py TAG --lr 2e-4 --seconds 1200 [--channels 8,16,32,128] [--affine-out]
                [--decoder-only] [--edge-weight W] [--save DIR]
  --channels      widen the levels first (models.widen_vae: the same function to start from)
  --affine-out    the decoder's last GroupNorm keeps its per-channel weight and bias but not its
                  statistics (the mean and std of its input over four training batches replace them)
  --decoder-only  start from the EMA (the weights the latent pools were encoded with) and train
                  only post_quant_conv and the decoder: the latents, and so a transformer trained
                  on them, stay valid
  --edge-weight   extra loss weight on a 5-pixel band around object edges (both sides), where
                  moving objects come back with a band of a neighbouring hue
  --save DIR      write the arm's EMA (float16, diffusers layout) to DIR at the end
Reads $BOTTLENECK_TRAIN_DIR/vae.pt (default ~/.cache/bottleneck/train); writes nothing there."""
import argparse
import copy
import json
import os
import sys
import time

import torch
import torch.nn.functional as Fn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import world  # noqa: E402
from cpu_train import background_object_error, ema_update, heldout_renders, object_mask, patch_colour_loss, render, vae_encode_mean  # noqa: E402
from models import make_vae, widen_vae  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("tag")
ap.add_argument("--lr", type=float, default=2e-4)
ap.add_argument("--seconds", type=float, default=1200)
ap.add_argument("--channels", type=lambda v: [int(x) for x in v.split(",")])
ap.add_argument("--affine-out", action="store_true")
ap.add_argument("--decoder-only", action="store_true")
ap.add_argument("--edge-weight", type=float, default=0.0)
ap.add_argument("--save", metavar="DIR")
a = ap.parse_args()
torch.set_num_threads(1)
ckdir = os.environ.get("BOTTLENECK_TRAIN_DIR", os.path.join(os.path.expanduser("~"), ".cache", "bottleneck", "train"))
state = json.load(open(os.path.join(ckdir, "state.json")))
vae = make_vae(state["vae_config"])
vae.load_state_dict(torch.load(os.path.join(ckdir, "vae.pt"), map_location="cpu", weights_only=False)
                    ["ema" if a.decoder_only else "model"])
if a.decoder_only:
    vae.encoder.requires_grad_(False); vae.quant_conv.requires_grad_(False)
if a.channels:
    vae = widen_vae(vae, a.channels, torch.Generator().manual_seed(5))


class ChannelAffine(torch.nn.Module):
    """GroupNorm's per-channel weight and bias around fixed statistics (mu, sigma)."""
    def __init__(self, gn, mu, sigma):
        super().__init__()
        self.weight = torch.nn.Parameter(gn.weight.detach() / sigma)
        self.bias = torch.nn.Parameter(gn.bias.detach() - gn.weight.detach() * mu / sigma)

    def forward(self, x):
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return x * self.weight.view(shape).to(x.dtype) + self.bias.view(shape).to(x.dtype)


if a.affine_out:
    stats = []
    hook = vae.decoder.conv_norm_out.register_forward_hook(lambda m, i, o: stats.append((i[0].mean().item(), i[0].std().item())))
    gs = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for k in range(4):
            xs, _ = render([world.make_clip(s) for s in range(50_000_000 + 8 * k, 50_000_008 + 8 * k)], 9, 64, "crop", gs)
            vae.decoder(vae.post_quant_conv(vae_encode_mean(vae, xs)[0]))
    hook.remove()
    mu, sigma = (sum(s[j] for s in stats) / len(stats) for j in (0, 1))
    print(a.tag, "conv_norm_out input mean / std per batch", [tuple(round(v, 2) for v in s) for s in stats], flush=True)
    vae.decoder.conv_norm_out = ChannelAffine(vae.decoder.conv_norm_out, mu, sigma)

trained = [p for p in vae.parameters() if p.requires_grad]
opt = torch.optim.AdamW(trained, lr=a.lr, betas=(0.9, 0.99), weight_decay=0)
ema = copy.deepcopy(vae).requires_grad_(False)
hx, hmask = heldout_renders(24, 9, 128)


def held_out_error(m):
    with torch.no_grad():
        r = torch.cat([m.decoder(m.post_quant_conv(vae_encode_mean(m, hx[i:i + 4])[0])).clamp(-1, 1)
                       for i in range(0, 24, 4)])
    return tuple(round(e, 2) for e in background_object_error(r, hx, hmask))


def edge_band(mask, k=5):
    """1 within k//2 pixels of an object edge, on either side (spatial dilation minus erosion)."""
    m = mask.transpose(1, 2).flatten(0, 1)  # [B*F, 1, H, W]
    band = Fn.max_pool2d(m, k, 1, k // 2) + Fn.max_pool2d(-m, k, 1, k // 2)
    return band.view(mask.shape[0], mask.shape[2], 1, *mask.shape[3:]).transpose(1, 2)


print(a.tag, "step 0: held-out background / object error", held_out_error(vae), flush=True)
g = torch.Generator().manual_seed(1)
seed, t0, step = 61_000_000, time.time(), 0
while time.time() - t0 < a.seconds:
    step += 1
    F, bs = (1, 32) if step % 2 else (9, 8)
    clips = [world.make_clip(s) for s in range(seed, seed + bs)]; seed += bs
    x, bg = render(clips, F, 64, "crop", g)
    mask = object_mask(x, bg); w = 1 + 7 * mask + a.edge_weight * edge_band(mask)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        with torch.set_grad_enabled(not a.decoder_only):
            mean, logvar = vae_encode_mean(vae, x)
        rec = vae.decoder(vae.post_quant_conv(mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)))
    rec = rec.float(); d = rec - x
    loss = (w * d.abs()).mean() / w.mean() + (w * d * d).mean() / w.mean() + 4 * patch_colour_loss(rec, x, mask)
    opt.zero_grad(set_to_none=True); loss.backward()
    torch.nn.utils.clip_grad_norm_(trained, 1.0); opt.step()
    ema_update(ema, vae, 0.99)
    if step % 50 == 0:
        print(a.tag, f"step {step} ({time.time() - t0:.0f} s): held-out background / object error, raw",
              held_out_error(vae), "EMA", held_out_error(ema), flush=True)
if a.save:
    ema.half().save_pretrained(a.save, safe_serialization=True)
    print(a.tag, "wrote", a.save, flush=True)
