"""Reconstruction error of a VAE decoder on freshly rendered training-world clips, with the same
terms `finetune_decoder.py` logs: L1 and the L1 of 8x8 average-pooled frames ("dc", flat colour).
The shipped encoder makes the latents (posterior mean); the decoder is rebuilt with --groups.

usage: decoder_error.py [SRC.safetensors|OUT.pt] [--groups G] [--clips 16] [--frames 9] [--size 64]
(default SRC: the shipped pipelines/shapes VAE; an OUT.pt of finetune_decoder.py is read too)."""
import argparse, os, sys, torch, torch.nn.functional as Fn
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world
from models import GPU_RUN_VAE_CONFIG as VAE_CONFIG
from diffusers import AutoencoderKLHunyuanVideo
from safetensors.torch import load_file

SHIPPED = "pipelines/shapes/vae/diffusion_pytorch_model.safetensors"
ap = argparse.ArgumentParser()
ap.add_argument("src", nargs="?", default=SHIPPED)
ap.add_argument("--groups", type=int, default=VAE_CONFIG["norm_num_groups"])
ap.add_argument("--clips", type=int, default=16)
ap.add_argument("--frames", type=int, default=9)
ap.add_argument("--size", type=int, default=64)
ap.add_argument("--seed", type=int, default=30_000_000, help="first clip seed (training clips of finetune_decoder.py start at 20,000,000)")
a = ap.parse_args()

torch.set_num_threads(2)
encoder = AutoencoderKLHunyuanVideo(**VAE_CONFIG)
encoder.load_state_dict({k: v.float() for k, v in load_file(SHIPPED).items()})
decoder = AutoencoderKLHunyuanVideo(**dict(VAE_CONFIG, norm_num_groups=a.groups))
state = torch.load(a.src)["state"] if a.src.endswith(".pt") else load_file(a.src)
decoder.load_state_dict({k: v.float() for k, v in state.items()})
x = world.render_batch([world.make_clip(s) for s in range(a.seed, a.seed + a.clips)], a.frames, a.size, a.size)
with torch.no_grad():
    mean, _ = encoder.quant_conv(encoder.encoder(x)).chunk(2, 1)
    rec = decoder.decoder(decoder.post_quant_conv(mean))
dc = (Fn.avg_pool3d(rec, (1, 8, 8)) - Fn.avg_pool3d(x, (1, 8, 8))).abs().mean()
print(f"{a.clips} clips, {a.frames} frames, {a.size} px, {a.groups} group(s): l1 {(rec - x).abs().mean():.4f} dc {dc:.4f}")
