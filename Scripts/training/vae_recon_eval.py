"""Upper bound that a VAE puts on the analyzer's accuracy: render the ground-truth clips of held-out
prompts, encode them (whole clip, posterior mean) and decode them with a pipeline's VAE, write the
reconstructions as H.264 MP4s (the same CRF 18 / yuv420p the engine writes) and a manifest for
`bottleneck evaluate`. No DiT is involved, so whatever the analyzer misses here, no sampler can fix.

usage: vae_recon_eval.py OUT_DIR [--vae pipelines/shapes/vae] [--count 30] [--frames 33] [--size 128]
then:  bottleneck evaluate OUT_DIR/manifest.jsonl
(writing the MP4s needs the ffmpeg program; this is tooling, the engine itself links libav)."""
import argparse, json, os, subprocess, sys
import numpy as np, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world
from diffusers import AutoencoderKLHunyuanVideo

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--vae", default="pipelines/shapes/vae")
ap.add_argument("--prompts", default="samples/heldout_prompts.jsonl")
ap.add_argument("--count", type=int, default=30)
ap.add_argument("--frames", type=int, default=33)
ap.add_argument("--size", type=int, default=128)
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()

torch.set_num_threads(a.threads)
os.makedirs(a.out, exist_ok=True)
vae = AutoencoderKLHunyuanVideo.from_pretrained(a.vae, torch_dtype=torch.float32).eval()
lines = [json.loads(l) for l in open(a.prompts)][:a.count]
errors = []
with open(os.path.join(a.out, "manifest.jsonl"), "w") as manifest:
    for i, line in enumerate(lines):
        x = world.render_batch([world.clip_from_attributes(line["attributes"], line["seed"])], a.frames, a.size, a.size)
        with torch.no_grad():
            mean, _ = vae.quant_conv(vae.encoder(x)).chunk(2, 1)
            rec = vae.decoder(vae.post_quant_conv(mean)).clamp(-1, 1)
        errors.append((rec - x).abs().mean().item())
        rgb = ((rec[0].permute(1, 2, 3, 0).numpy() + 1) * 127.5).round().astype(np.uint8)  # [F, H, W, 3]
        name = f"{i:03d}.mp4"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                        "-s", f"{a.size}x{a.size}", "-r", "24", "-i", "-", "-c:v", "libx264", "-crf", "18",
                        "-pix_fmt", "yuv420p", os.path.join(a.out, name)], input=rgb.tobytes(), check=True)
        manifest.write(json.dumps({"prompt": line["prompt"], "video": name, "attributes": line["attributes"]}) + "\n")
print(f"{len(lines)} clips, mean reconstruction L1 {np.mean(errors):.4f} (pixels in [-1, 1])")
