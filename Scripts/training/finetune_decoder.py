"""CPU fallback: fine-tune the VAE decoder with the encoder (and hence the latent space the DiT was
trained on) frozen. The decoder may be rebuilt with another `norm_num_groups` (its GroupNorm affine
weights are per channel, so the trained weights carry over): with 4 groups the last GroupNorm
normalises 2-channel groups over the whole clip and erases a flat background's colour
(Docs/training.md, "Known problems"); 1 group keeps it.
Loss: L1 + L2 + L1 of 8x8 average-pooled frames (background/DC colour). The decoder sees the
posterior mean (what the DiT was trained to produce) plus a little Gaussian noise, so it tolerates
the DiT's errors. Every --crop-every'th step decodes a random 8x8-latent crop of a 128-px clip, the
others a whole 64-px clip. With one group the statistics of a crop differ from a whole clip's, so
crops are best left out (--crop-every 0) there.

usage: finetune_decoder.py SRC.safetensors OUT.pt SECONDS [--groups G] [--frames F] [--batch B]"""
import argparse, json, sys, os, time, random, math, torch, torch.nn.functional as Fn
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world
from models import GPU_RUN_VAE_CONFIG as VAE_CONFIG
from diffusers import AutoencoderKLHunyuanVideo
from safetensors.torch import load_file

ap = argparse.ArgumentParser()
ap.add_argument("src"); ap.add_argument("out"); ap.add_argument("seconds", type=float)
ap.add_argument("--groups", type=int, default=VAE_CONFIG["norm_num_groups"])
ap.add_argument("--frames", type=int, default=9)
ap.add_argument("--batch", type=int, default=2)
ap.add_argument("--lr", type=float, default=3e-4)
ap.add_argument("--latent-noise", type=float, default=0.05, help="std of noise added to the mean, in units of the latent std")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--crop-every", type=int, default=2, help="every Nth step decodes an 8x8-latent crop of a 128-px clip (0: never)")
a = ap.parse_args()

torch.set_num_threads(a.threads); torch.manual_seed(0); random.seed(0)
sd = {k: v.float() for k, v in load_file(a.src).items()}
enc = AutoencoderKLHunyuanVideo(**VAE_CONFIG); enc.load_state_dict(sd); enc.requires_grad_(False).eval()
vae = AutoencoderKLHunyuanVideo(**dict(VAE_CONFIG, norm_num_groups=a.groups)); vae.load_state_dict(sd)
vae.encoder.requires_grad_(False); vae.quant_conv.requires_grad_(False)
params = list(vae.decoder.parameters()) + list(vae.post_quant_conv.parameters())
opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.99))
t0 = time.time(); step = 0; seed = 20_000_000; last = t0; hist = []
# The VAE's scaling_factor (config.json next to SRC) is 1/std of the posterior means (Docs/training.md).
with open(os.path.join(os.path.dirname(os.path.abspath(a.src)), "config.json")) as f:
    latent_std = 1.0 / json.load(f)["scaling_factor"]
while time.time() - t0 < a.seconds:
    frac = (time.time() - t0) / a.seconds
    for g in opt.param_groups:  # cosine to 10 %
        g["lr"] = a.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
    crop = a.crop_every > 0 and step % a.crop_every == 0
    px = 128 if crop else 64
    clips = [world.make_clip(s) for s in range(seed, seed + a.batch)]; seed += a.batch
    x = world.render_batch(clips, a.frames, px, px)
    with torch.no_grad():
        m, _ = enc.quant_conv(enc.encoder(x)).chunk(2, 1)
        z = m + a.latent_noise * latent_std * torch.randn_like(m)
    if crop:
        i, j = random.randint(0, 8), random.randint(0, 8)
        z = z[..., i:i + 8, j:j + 8]; x = x[..., i * 8:i * 8 + 64, j * 8:j * 8 + 64]
    rec = vae.decoder(vae.post_quant_conv(z))
    l1 = (rec - x).abs().mean()
    dc = (Fn.avg_pool3d(rec, (1, 8, 8)) - Fn.avg_pool3d(x, (1, 8, 8))).abs().mean()
    loss = l1 + ((rec - x) ** 2).mean() + dc
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(params, 1.0); opt.step(); step += 1
    hist.append((step, round(time.time() - t0, 1), l1.item(), dc.item()))
    if step % 20 == 0:
        print(step, round(time.time() - t0), "l1 %.4f dc %.4f" % (sum(h[2] for h in hist[-20:]) / 20, sum(h[3] for h in hist[-20:]) / 20), flush=True)
    if time.time() - last > 240:
        torch.save({"state": vae.state_dict(), "hist": hist, "groups": a.groups}, a.out); last = time.time()
torch.save({"state": vae.state_dict(), "hist": hist, "groups": a.groups}, a.out)
print("done", step)
