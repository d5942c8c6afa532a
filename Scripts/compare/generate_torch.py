"""Runs one whole text-to-video generation in PyTorch (diffusers HunyuanVideoTransformer3DModel +
AutoencoderKLHunyuanVideo from a pipeline folder, MiniLM text encoding per Docs/training.md), driven
by the numpy reference sampler (Scripts/sampler/reference_sampler.py) on the SAME plan JSON the Swift
engine runs, and optionally runs the Swift engine on the same inputs first and compares the two.

Identical initial noise: the reference sampler reproduces the Swift `StageNoise` streams (SplitMix64 +
Box-Muller, stage i seeded by output i of SplitMix64(seed)), pinned bit-exactly to Swift by
Tests/Fixtures/sampler/rng.json. This also covers the noise reintroduced at every stage change,
which a dump of the initial latent alone would not. `--swift` additionally saves the Swift final
latents, and the script reports their difference from the PyTorch ones.

Timings (2 threads by default): text encoding, every denoising step (one or two transformer passes),
VAE decode (untiled, as the Swift engine decodes videos up to 129×256×256), whole generation; peak RSS
of the process (`ru_maxrss`).

  # PyTorch only, with a plan written by `bottleneck-bench generate` (OUT/plans/x3.json):
  .venv/bin/python Scripts/compare/generate_torch.py --plan OUT/plans/x3.json --prompt "..." --seed 1 \\
      --frames 129 --width 128 --height 128 --out /tmp/cmp
  # Side by side: Swift (child process) then PyTorch, same plan and noise; prints Swift/PyTorch ratios
  # and the PSNR between the two videos (RGB, 8-bit, before any video codec):
  .venv/bin/python Scripts/compare/generate_torch.py --swift .build/release/bottleneck --preset x3 \\
      --prompt "a red ball bouncing on a black background" --seed 1 --out /tmp/cmp [--json]

Outputs in --out: torch.rgb (raw rgb24 frames), torch_latents.npy, torch.json; with --swift also
swift.rgb, swift_latents.safetensors, swift.log, plan.json and comparison.json.
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sampler"))
sys.path.insert(0, os.path.join(HERE, "..", "training"))
import reference_sampler as ref  # noqa: E402
from textenc import MiniLMText  # noqa: E402


class TimedTransformer:
    """The diffusers transformer behind the reference sampler's `velocity(x, timestep)` interface.
    x is [1, T, H, W, C] float32 (Swift layout); diffusers takes [B, C, F, H, W]."""

    def __init__(self, model, states, pooled, calls):
        self.model, self.states, self.pooled, self.calls = model, states, pooled, calls
        self.mask = torch.ones(states.shape[:2])

    @torch.inference_mode()
    def velocity(self, x, timestep):
        start = time.perf_counter()
        h = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 4, 1, 2, 3)
        v = self.model(hidden_states=h, timestep=torch.tensor([float(timestep)]), encoder_hidden_states=self.states,
                       encoder_attention_mask=self.mask, pooled_projections=self.pooled, guidance=None,
                       return_dict=False)[0]
        out = v.permute(0, 2, 3, 4, 1).contiguous().numpy().astype(np.float32)
        self.calls.append(time.perf_counter() - start)
        return out


def encode_text(te, prompt):
    """MiniLM states of the L real tokens only, with an all-ones mask: what the Swift engine passes
    (Docs/training.md: the transformer's masks make padding irrelevant)."""
    states, mask, pooled = te.encode([prompt])
    n = int(mask[0].sum())
    return states[:, :n].contiguous(), pooled


def quantize(frames):
    """[-1, 1] float -> uint8 as Swift's VideoFrame: round half away from zero of (x + 1)·127.5, clamped."""
    v = (frames.astype(np.float32) + np.float32(1)) * np.float32(127.5)
    return np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5), 0, 255).astype(np.uint8)


def psnr(a, b):
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def run_torch(a, plan):
    torch.set_num_threads(a.threads)
    from diffusers import AutoencoderKLHunyuanVideo, HunyuanVideoTransformer3DModel
    t0 = time.perf_counter()
    dit = HunyuanVideoTransformer3DModel.from_pretrained(os.path.join(a.pipeline, "transformer"),
                                                         torch_dtype=torch.float32).eval()
    vae = AutoencoderKLHunyuanVideo.from_pretrained(os.path.join(a.pipeline, "vae"), torch_dtype=torch.float32).eval()
    vae.use_framewise_decoding = False  # one untiled pass, as the Swift VAE stage at these sizes
    te = MiniLMText(os.path.join(a.pipeline, "text_encoder"), os.path.join(a.pipeline, "tokenizer"))
    load = time.perf_counter() - t0

    t1 = time.perf_counter()
    cond_states, cond_pooled = encode_text(te, a.prompt)
    uncond_states, uncond_pooled = encode_text(te, a.negative_prompt)
    text = time.perf_counter() - t1

    calls = []
    cond = TimedTransformer(dit, cond_states, cond_pooled, calls)
    uncond = TimedTransformer(dit, uncond_states, uncond_pooled, calls)
    cfg = a.cfg if a.cfg > 1 else None  # Swift: classifier-free guidance only above 1
    base = ((a.frames - 1) // 4 + 1, a.height // 8, a.width // 8)
    t2 = time.perf_counter()
    latents, _ = ref.run(plan, base, dit.config.in_channels, a.seed, cond, uncond, cfg)
    denoise = time.perf_counter() - t2
    passes = 2 if cfg is not None else 1
    steps = [sum(calls[i:i + passes]) for i in range(0, len(calls), passes)]

    t3 = time.perf_counter()
    with torch.inference_mode():
        z = torch.from_numpy(latents).permute(0, 4, 1, 2, 3) / vae.config.scaling_factor
        video = vae.decode(z).sample[0].permute(1, 2, 3, 0).numpy()  # [F, H, W, 3]
    decode = time.perf_counter() - t3
    frames = quantize(video)
    os.makedirs(a.out, exist_ok=True)
    frames.tofile(os.path.join(a.out, "torch.rgb"))
    np.save(os.path.join(a.out, "torch_latents.npy"), latents)
    result = {"torch": torch.__version__, "threads": a.threads, "plan": plan.get("name"), "model_calls": len(calls),
              "steps": len(steps), "load_seconds": load, "text_seconds": text, "denoise_seconds": denoise,
              "step_seconds": steps, "decode_seconds": decode, "generation_seconds": text + denoise + decode,
              "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
              "frames": list(frames.shape)}
    with open(os.path.join(a.out, "torch.json"), "w") as f:
        json.dump(result, f, indent=2)
    return result, frames, latents


def swift_plan(a, shift):
    """The plan `bottleneck generate --bottleneck PRESET` would derive: same transformer config,
    32 text tokens (MiniLMStage.maxTokens), the pipeline's scheduler shift."""
    out = subprocess.run([a.swift, "plan", "--preset", a.preset, "--config",
                          os.path.join(a.pipeline, "transformer", "config.json"), "--frames", str(a.frames),
                          "--height", str(a.height), "--width", str(a.width), "--steps", str(a.steps),
                          "--shift", str(shift), "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["plan"]


def run_swift(a, plan_path):
    """The Swift engine as a child process: raw rgb24 frames and saved latents; wall time and the
    child's own peak RSS from wait4, stage timings and per-step seconds from --progress json."""
    raw = os.path.join(a.out, "swift.rgb")
    cmd = [a.swift, "generate", a.prompt, "-o", raw, "--format", "rawvideo", "--seed", str(a.seed),
           "--frames", str(a.frames), "--width", str(a.width), "--height", str(a.height),
           "--bottleneck", plan_path, "--cfg", str(a.cfg), "--threads", str(a.threads), "--pipeline", a.pipeline, "--progress", "json",
           "--save-latents", os.path.join(a.out, "swift_latents.safetensors")]
    if a.negative_prompt:
        cmd += ["--negative-prompt", a.negative_prompt]
    log_path = os.path.join(a.out, "swift.log")
    with open(log_path, "w") as log:
        start = time.perf_counter()
        p = subprocess.Popen(cmd, stderr=log)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"swift generate failed (status {os.waitstatus_to_exitcode(status)}); see {log_path}")
    steps, timings = [], None
    for line in open(log_path):
        if line.startswith("{"):
            e = json.loads(line)
            if e.get("event") == "step":
                steps.append(e["seconds"])
            elif e.get("event") == "finished":
                timings = e["timings"]
    frames = np.fromfile(raw, np.uint8).reshape(a.frames, a.height, a.width, 3)
    from safetensors.numpy import load_file
    latents = load_file(os.path.join(a.out, "swift_latents.safetensors"))["latents"]
    return {"wall_seconds": wall, "text_seconds": timings["encode"], "denoise_seconds": timings["denoise"],
            "decode_seconds": timings["decode"], "generation_seconds": timings["total"], "step_seconds": steps,
            "peak_rss_bytes": usage.ru_maxrss * 1024}, frames, latents


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pipeline", default="pipelines/shapes")
    ap.add_argument("--plan", help="plan JSON (e.g. OUT/plans/x3.json of bench generate)")
    ap.add_argument("--preset", help="with --swift: off, x2, x2.5, x3, 5stage, … derived by `bottleneck plan`")
    ap.add_argument("--swift", help="bottleneck executable: run the Swift side first and compare")
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--negative-prompt", default="")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--frames", type=int, default=129)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--height", type=int, default=128)
    ap.add_argument("--steps", type=int, default=50, help="standard steps the preset is derived for")
    ap.add_argument("--cfg", type=float, default=6.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    a = ap.parse_args()
    if (a.plan is None) == (a.preset is None):
        ap.error("give exactly one of --plan FILE or --preset NAME")
    if a.preset and not a.swift:
        ap.error("--preset needs --swift (the Swift `plan` command derives it)")
    os.makedirs(a.out, exist_ok=True)
    shift = json.load(open(os.path.join(a.pipeline, "scheduler", "scheduler_config.json")))["shift"]
    if a.plan:
        plan = json.load(open(a.plan))
        plan_path = a.plan
    else:
        plan = swift_plan(a, shift)
        plan_path = os.path.join(a.out, "plan.json")
        with open(plan_path, "w") as f:
            json.dump(plan, f, indent=2)

    swift = None
    if a.swift:
        swift, swift_frames, swift_latents = run_swift(a, plan_path)
    t = time.perf_counter()
    torch_result, torch_frames, torch_latents = run_torch(a, plan)
    torch_result["wall_seconds"] = time.perf_counter() - t + torch_result["load_seconds"]
    result = {"plan": plan.get("name"), "settings": {k: getattr(a, k) for k in
                                                     ("frames", "width", "height", "cfg", "seed", "threads")},
              "torch": torch_result}
    if swift:
        result["swift"] = swift
        result["psnr_db"] = psnr(swift_frames, torch_frames)
        result["latents_max_abs_diff"] = float(np.abs(swift_latents - torch_latents).max())
        result["ratio_torch_over_swift"] = {
            k: torch_result[k] / swift[k] for k in ("generation_seconds", "denoise_seconds", "decode_seconds")}
        for stat in (np.mean, np.median):
            result["ratio_torch_over_swift"][f"step_seconds_{stat.__name__}"] = (
                stat(torch_result["step_seconds"]) / stat(swift["step_seconds"]))
        result["ratio_torch_over_swift"]["peak_rss"] = torch_result["peak_rss_bytes"] / swift["peak_rss_bytes"]
        with open(os.path.join(a.out, "comparison.json"), "w") as f:
            json.dump(result, f, indent=2)
    if a.json:
        print(json.dumps(result, indent=2))
        return
    mib = 2 ** 20
    rows = [("text encode s", "text_seconds"), ("denoise s", "denoise_seconds"), ("decode s", "decode_seconds"),
            ("generation s", "generation_seconds")]
    print(f"plan {result['plan']}, {a.frames} frames {a.width}x{a.height}, cfg {a.cfg}, seed {a.seed}, "
          f"{a.threads} threads; PyTorch {torch.__version__} eager fp32")
    print(f"{'':18}{'Swift':>10}{'PyTorch':>10}  Swift speed-up (PyTorch / Swift)")
    # The median step is the robust figure on a shared machine (other load hits single steps).
    for label, key, stat in [(label, key, None) for label, key in rows] + [
            ("step s (mean)", "step_seconds", np.mean), ("step s (median)", "step_seconds", np.median)]:
        tv = stat(torch_result[key]) if stat else torch_result[key]
        if swift:
            sv = stat(swift[key]) if stat else swift[key]
            print(f"{label:18}{sv:10.3f}{tv:10.3f}{tv / sv:14.2f}x")
        else:
            print(f"{label:18}{'':>10}{tv:10.3f}")
    if swift:
        print(f"{'peak RSS MiB':18}{swift['peak_rss_bytes'] / mib:10.0f}{torch_result['peak_rss_bytes'] / mib:10.0f}"
              f"{torch_result['peak_rss_bytes'] / swift['peak_rss_bytes']:14.2f}x")
        print(f"PSNR Swift vs PyTorch video: {result['psnr_db']:.2f} dB (target >= 40); "
              f"final latents max |diff| {result['latents_max_abs_diff']:.2e}")
    else:
        print(f"{'peak RSS MiB':18}{'':>10}{torch_result['peak_rss_bytes'] / mib:10.0f}")


if __name__ == "__main__":
    main()
