"""How fast an autoencoder of the shipped VAE's widths learns the shapes world: one-frame 32 x 32
crops of 128-px renders, batch 32, L1 + L2 with object pixels weighted 8x, AdamW; every 100 steps
the mean absolute error (0-255) on background and on object pixels of the first frames of held-out
prompts 1-32 at 128 px. Variants (Docs/training.md, "The latents, not the transformer"):
  hunyuan         the HunyuanVideo VAE of models.VAE_CONFIG (clip-wide GroupNorm, one group), from
                  scratch or --init DIR
  hunyuan-offset  the same with one constant channel (bias 10) after each conv_in, which makes
                  GroupNorm's statistics nearly independent of the content
  plain-gn        2D convs of the same widths, GroupNorm(1), SiLU, no skips
  plain           the same without normalisation

usage: vae_learnability.py VARIANT [--init VAE_DIR] [--steps 1000] [--lr 2e-3]"""
import argparse
import os
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import world  # noqa: E402
from cpu_train import background_object_error, heldout_renders, object_mask, vae_encode_mean  # noqa: E402
from models import VAE_CONFIG, make_vae  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("variant", choices=["hunyuan", "hunyuan-offset", "plain-gn", "plain"])
ap.add_argument("--init", help="a diffusers VAE folder to start from (hunyuan variants)")
ap.add_argument("--steps", type=int, default=1000)
ap.add_argument("--lr", type=float, default=2e-3)
ap.add_argument("--threads", type=int, default=1)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)


def plain(norm):
    def block(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.GroupNorm(1, o) if norm else nn.Identity(), nn.SiLU())
    enc = nn.Sequential(block(3, 8), nn.Conv2d(8, 16, 3, 2, 1), block(16, 16), nn.Conv2d(16, 32, 3, 2, 1), block(32, 32),
                        nn.Conv2d(32, 64, 3, 2, 1), block(64, 64), nn.Conv2d(64, 16, 3, padding=1))
    dec = nn.Sequential(nn.Conv2d(16, 64, 3, padding=1), block(64, 64), nn.Upsample(scale_factor=2), block(64, 32),
                        nn.Upsample(scale_factor=2), block(32, 16), nn.Upsample(scale_factor=2), block(16, 8),
                        nn.Conv2d(8, 3, 3, padding=1))
    model = nn.Sequential(enc, dec)
    return model, lambda x: dec(enc(x[:, :, 0]))[:, :, None]  # [B, 3, 1, H, W] in and out


if a.variant.startswith("plain"):
    model, reconstruct = plain(a.variant == "plain-gn")
else:
    from diffusers import AutoencoderKLHunyuanVideo
    model = AutoencoderKLHunyuanVideo.from_pretrained(a.init, torch_dtype=torch.float32) if a.init else make_vae(VAE_CONFIG)
    if a.variant == "hunyuan-offset":
        with torch.no_grad():
            for conv in (model.encoder.conv_in.conv, model.decoder.conv_in.conv):
                conv.weight[0].zero_(); conv.bias[0] = 10.0

    def reconstruct(x):
        mean, logvar = vae_encode_mean(model, x)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean) if model.training else mean
        return model.decoder(model.post_quant_conv(z))

opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.99), weight_decay=0)
hx, hmask = heldout_renders(32, 1, 128)


def held_out_error():
    model.eval()
    with torch.no_grad():
        rec = reconstruct(hx).clamp(-1, 1)
    model.train()
    return tuple(round(e, 1) for e in background_object_error(rec, hx, hmask))


print(f"{a.variant} step 0: held-out background / object error {held_out_error()} (0-255)", flush=True)
g = torch.Generator().manual_seed(1)
seed = 70_000_000
for step in range(1, a.steps + 1):
    clips = [world.make_clip(s) for s in range(seed, seed + 32)]; seed += 32
    x = world.render_batch(clips, 1, 128, 128)
    i, j = (int(v) for v in torch.randint(0, 97, (2,), generator=g))
    x = x[..., i:i + 32, j:j + 32].contiguous()
    w = 1 + 7 * object_mask(x, x[:, :, :1, :1, :1])
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=not a.variant.startswith("plain")):
        rec = reconstruct(x)
    d = rec.float() - x
    loss = (w * d.abs()).mean() / w.mean() + (w * d * d).mean() / w.mean()
    opt.zero_grad(set_to_none=True); loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
    if step % 100 == 0:
        print(f"{a.variant} step {step}: loss {loss.item():.4f}, held-out background / object error {held_out_error()}", flush=True)
