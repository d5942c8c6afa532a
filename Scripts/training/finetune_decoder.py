"""CPU fallback: fine-tune the VAE decoder with the encoder (and hence the latent space the DiT was
trained on) frozen. Loss: L1 + L2 + L1 of 8x8 average-pooled frames (background/DC colour).
Half the steps decode a random 8x8-latent crop of a 128-px clip, half a whole 64-px clip; 9 frames."""
import sys, os, time, random, torch, torch.nn.functional as Fn
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world
from models import VAE_CONFIG
from diffusers import AutoencoderKLHunyuanVideo
from safetensors.torch import load_file

src, out, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
torch.set_num_threads(1); torch.manual_seed(0); random.seed(0)
sd = {k: v.float() for k, v in load_file(src).items()}
vae = AutoencoderKLHunyuanVideo(**VAE_CONFIG); vae.load_state_dict(sd)
vae.encoder.requires_grad_(False); vae.quant_conv.requires_grad_(False)
params = list(vae.decoder.parameters()) + list(vae.post_quant_conv.parameters())
opt = torch.optim.AdamW(params, lr=3e-4, betas=(0.9, 0.99))
t0 = time.time(); step = 0; seed = 20_000_000; last = t0; hist = []
while time.time() - t0 < secs:
    crop = step % 2 == 0
    px = 128 if crop else 64
    clips = [world.make_clip(s) for s in range(seed, seed + 2)]; seed += 2
    x = world.render_batch(clips, 9, px, px)
    with torch.no_grad():
        h = vae.quant_conv(vae.encoder(x)); m, lv = h.chunk(2, 1)
        z = m + torch.exp(0.5 * lv.clamp(-30, 20)) * torch.randn_like(m)
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
        torch.save({"state": vae.state_dict(), "hist": hist}, out); last = time.time()
torch.save({"state": vae.state_dict(), "hist": hist}, out)
print("done", step)
