"""Side-by-side VAE decode benchmark: diffusers/PyTorch (CPU, float32) on the same config and
weights as `bottleneck-bench vae`.

  .venv/bin/python Scripts/compare/bench_vae_torch.py --config samples/bench/vae-shapes.json \
      --save /tmp/vae-bench --latent-frames 33 --size 128 --mode tiled
  .build/release/bottleneck-bench vae --pipeline /tmp/vae-bench --latent-frames 33 --size 128 --mode tiled --json
  .venv/bin/python Scripts/compare/bench_vae_torch.py --pipeline pipelines/shapes --mode untiled --repeats 3
  .build/release/bottleneck-bench vae --pipeline pipelines/shapes --mode untiled --repeats 3 --json

With --pipeline DIR, loads DIR/vae (e.g. the shipped default pipeline) with from_pretrained.
Otherwise builds AutoencoderKLHunyuanVideo from the config with seeded random weights (scaled as in
Scripts/fixtures/make_vae_fixtures.py), writes them with save_pretrained to SAVE/vae (so the
Swift side loads identical weights), then times vae.decode(latents / scaling_factor) with
--threads torch threads. Modes: tiled (diffusers default, use_framewise_decoding=True) and
untiled (use_framewise_decoding=False). Prints one JSON object to stdout.
"""

import argparse
import json
import math
import os
import resource
import time

import torch
from diffusers import AutoencoderKLHunyuanVideo


def randomize(vae: AutoencoderKLHunyuanVideo, gen: torch.Generator) -> None:
    """Seeded random weights, scaled as in Scripts/fixtures/make_vae_fixtures.py."""
    with torch.no_grad():
        for name, p in vae.named_parameters():
            if p.ndim >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p[0].numel()))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="samples/bench/vae-shapes.json")
    ap.add_argument("--pipeline", help="load PIPELINE/vae instead of random weights for --config")
    ap.add_argument("--save", help="write the random weights to SAVE/vae (diffusers layout)")
    ap.add_argument("--latent-frames", type=int, default=33)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--mode", choices=["tiled", "untiled"], default="tiled")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    if args.pipeline:
        vae = AutoencoderKLHunyuanVideo.from_pretrained(os.path.join(args.pipeline, "vae"),
                                                         torch_dtype=torch.float32).eval()
        config = dict(vae.config)
    else:
        with open(args.config) as f:
            config = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
        vae = AutoencoderKLHunyuanVideo(**config).eval()
        randomize(vae, gen)
    if args.save:
        vae.save_pretrained(os.path.join(args.save, "vae"), safe_serialization=True)
    vae.use_framewise_decoding = args.mode == "tiled"
    side = args.size // config.get("spatial_compression_ratio", 8)
    latents = torch.randn((1, config.get("latent_channels", 16), args.latent_frames, side, side),
                          generator=gen)
    sf = config.get("scaling_factor", 0.476986)
    times, cpu_times = [], []
    with torch.no_grad():
        for _ in range(args.repeats):
            start, cpu_start = time.perf_counter(), time.process_time()
            out = vae.decode(latents / sf).sample
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    print(json.dumps(dict(
        case="vae-decode-torch", mode=args.mode, latent_frames=args.latent_frames,
        frames=out.shape[2], size=args.size, threads=args.threads,
        seconds_median=sorted(times)[len(times) // 2], seconds=times,
        cpu_seconds_median=sorted(cpu_times)[len(cpu_times) // 2],
        peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        torch=torch.__version__)))


if __name__ == "__main__":
    main()
