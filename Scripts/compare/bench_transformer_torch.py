"""Times the HunyuanVideo transformer forward in diffusers/PyTorch eager (float32, CPU) on the
same config and sizes as `bottleneck-bench transformer`, for Docs/benchmarks.md.

  .venv/bin/python Scripts/compare/bench_transformer_torch.py --config samples/bench/transformer-mid.json \
      [--latent 33x16x16] [--text-tokens 64] [--threads 2] [--iterations 3] [--json]
"""
import argparse
import json
import resource
import time

import torch
from diffusers import HunyuanVideoTransformer3DModel


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--latent", default="33x16x16")
    ap.add_argument("--text-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with open(a.config) as f:
        cfg = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
    model = HunyuanVideoTransformer3DModel(**cfg).eval()
    t, h, w = (int(x) for x in a.latent.lower().split("x"))
    c = cfg["in_channels"]
    latents = torch.randn(1, c, t, h, w)
    text = torch.randn(1, a.text_tokens, cfg["text_embed_dim"])
    mask = torch.ones(1, a.text_tokens)
    pooled = torch.randn(1, cfg["pooled_projection_dim"])
    guidance = torch.tensor([6000.0]) if cfg.get("guidance_embeds", True) else None
    times, cpu = [], []
    with torch.inference_mode():
        for i in range(a.warmup + a.iterations):
            start, cpu_start = time.perf_counter(), time.process_time()
            model(hidden_states=latents, timestep=torch.tensor([1000.0]), encoder_hidden_states=text,
                  encoder_attention_mask=mask, pooled_projections=pooled, guidance=guidance, return_dict=False)
            if i >= a.warmup:
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() - cpu_start)
    result = {"torch": torch.__version__, "threads": a.threads, "latent": a.latent,
              "text_tokens": a.text_tokens, "seconds": times, "best_seconds": min(times),
              "cpu_seconds": min(cpu),
              "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    if a.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"pytorch {torch.__version__} eager fp32, {a.threads} threads, latent {a.latent}, "
              f"{a.text_tokens} text tokens: best {min(times):.3f} s (runs: {', '.join(f'{x:.3f}' for x in times)}), "
              f"{min(cpu):.3f} CPU-s, "
              f"peak RSS {result['peak_rss_bytes'] / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
