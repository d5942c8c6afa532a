#!/usr/bin/env python3
"""Reference Bottleneck Sampling sampler (numpy) and fixture writer for Tests/Fixtures/sampler.

Implements the same decisions as Sources/Sampling (see /work/shared/reference/bottleneck-sampling.md):
- schedules: diffusers FlowMatchEulerDiscreteScheduler semantics (linspace float64 -> float32,
  shift in float32, final 0, timestep = 1000*sigma), strength readings A and B;
- resampling: Pillow's precompute_coeffs rule per axis (half-pixel centres, antialiased
  downsampling, normalised float64 weights rounded to float32), axes in the order T, H, W;
- renoising: x = (1 - s0)*x0 + s0*eps with fresh noise from the stage's stream;
- RNG: SplitMix64 + Box-Muller in float64 -> float32; stage i stream seeded with output i of
  SplitMix64(seed).
Checks itself against diffusers' scheduler and Pillow's float resize, and against the sigma
lists quoted in bottleneck-sampling.md, then writes JSON fixtures.

Usage: .venv/bin/python Scripts/sampler/reference_sampler.py [out_dir]
"""
import json
import math
import os
import sys

import numpy as np

MASK = (1 << 64) - 1


# ---------------------------------------------------------------- RNG
class GaussianNoise:
    def __init__(self, seed):
        self.state = seed & MASK

    def next_bits(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def gaussian(self, count):
        out = []
        while len(out) < count:
            u1 = float((self.next_bits() >> 11) + 1) * 2.0 ** -53
            u2 = float(self.next_bits() >> 11) * 2.0 ** -53
            r = math.sqrt(-2.0 * math.log(u1))
            t = 2.0 * math.pi * u2
            out.append(r * math.cos(t))
            out.append(r * math.sin(t))
        return np.array(out[:count], dtype=np.float64).astype(np.float32)


def stage_seed(seed, stage):
    g = GaussianNoise(seed)
    bits = 0
    for _ in range(stage + 1):
        bits = g.next_bits()
    return bits


# ---------------------------------------------------------------- schedules
def shift(sig, s):
    s = np.float32(s)
    return (s * sig) / (np.float32(1) + (s - np.float32(1)) * sig)


def standard(n, s):
    sig = np.linspace(1.0, 0.0, n + 1)[:-1].astype(np.float32)
    return np.concatenate([shift(sig, s), np.zeros(1, np.float32)]).astype(np.float32)


def stage_sigmas(n, s, w, reading):
    if reading == "B":
        full = standard(n, s)
        init = min(n * w, n)
        t_start = int(max(n - init, 0))
        return full[t_start:]
    u = np.array([w * (1.0 - k / n) for k in range(n)], dtype=np.float64).astype(np.float32)
    return np.concatenate([shift(u, s), np.zeros(1, np.float32)]).astype(np.float32)


# ---------------------------------------------------------------- resampling (Pillow rule)
RADIUS = {"nearest": 0.5, "area": 0.5, "bilinear": 1.0, "bicubic": 2.0, "lanczos3": 3.0}


def kernel(name, x):
    if name in ("nearest", "area"):
        return 1.0 if -0.5 < x <= 0.5 else 0.0
    if name == "bilinear":
        return max(0.0, 1.0 - abs(x))
    if name == "bicubic":
        a, t = -0.5, abs(x)
        if t < 1:
            return ((a + 2) * t - (a + 3)) * t * t + 1
        if t < 2:
            return (((t - 5) * t + 8) * t - 4) * a
        return 0.0
    if -3 < x < 3:
        def sinc(v):
            return 1.0 if v == 0 else math.sin(math.pi * v) / (math.pi * v)
        return sinc(x) * sinc(x / 3)
    return 0.0


def coefficients(name, n_in, n_out, antialias=True):
    scale = n_in / n_out
    fs = max(scale, 1.0) if (antialias and name != "nearest") else 1.0
    support = RADIUS[name] * fs
    rows = []
    for i in range(n_out):
        c = (i + 0.5) * scale
        xmin = max(int(c - support + 0.5), 0)
        xmax = min(int(c + support + 0.5), n_in)
        w = [kernel(name, (j - c + 0.5) / fs) for j in range(xmin, max(xmax, xmin))]
        tot = sum(w)
        if tot != 0:
            w = [v / tot for v in w]
        rows.append((xmin, np.array(w, dtype=np.float64).astype(np.float32)))
    return rows


def resample_axis(x, axis, n_out, name, antialias=True):
    n_in = x.shape[axis]
    if n_in == n_out:
        return x
    xm = np.moveaxis(x, axis, 0)
    out = np.zeros((n_out,) + xm.shape[1:], np.float32)
    for i, (start, w) in enumerate(coefficients(name, n_in, n_out, antialias)):
        acc = np.zeros(xm.shape[1:], np.float32)
        for j, wj in enumerate(w):
            acc = acc + wj * xm[start + j]
        out[i] = acc
    return np.moveaxis(out, 0, axis)


def resample_video(x, size, up="lanczos3", down="lanczos3"):
    for axis, n in zip((1, 2, 3), size):
        if x.shape[axis] != n:
            x = resample_axis(x, axis, n, up if n > x.shape[axis] else down)
    return x


# ---------------------------------------------------------------- plans
def resolve(plan, base, patch=(1, 2)):
    abl = plan.get("ablations", {})
    out = []
    for i, st in enumerate(plan["stages"]):
        if "latent" in st and abl.get("bottleneck", True):
            l = st["latent"]
            size = (l["frames"], l["height"], l["width"])
        elif abl.get("bottleneck", True):
            sc = st.get("scale", 1)
            f = (1, sc, sc) if not isinstance(sc, dict) else (sc.get("frames", 1), sc["height"], sc["width"])
            size = tuple(int(round(b * k)) for b, k in zip(base, f))  # Python round is half-even; sizes here are never .5
        else:
            size = tuple(base)
        s = st["shift"] if abl.get("reshift", True) else plan["base_shift"]
        sig = stage_sigmas(st["steps"], s, st.get("strength", 1), plan.get("reading", "B"))
        tokens = (size[0] // patch[0]) * (size[1] // patch[1]) * (size[2] // patch[1])
        out.append({"size": size, "sigmas": sig, "tokens": tokens})
    if plan.get("transition", "restart") == "hand-off":
        for i in range(len(out) - 1):
            end = out[i + 1]["sigmas"][0]
            kept = [v for v in out[i]["sigmas"] if v > end]
            assert kept, f"stage {i} makes no call in hand-off mode"
            kept.append(end)
            out[i]["sigmas"] = np.array(kept, np.float32)
    return out


def plan_json(name, stages, base_shift, reading="B", base_steps=50, **extra):
    p = {"name": name, "reading": reading, "base_steps": base_steps, "base_shift": base_shift,
         "stages": [dict(zip(("steps", "shift", "strength", "scale"), st)) if not isinstance(st, dict) else st
                    for st in stages]}
    p.update(extra)
    return p


HUNYUAN = [(4, 7, 1.0, 1), (24, 9, 0.8, {"frames": 1, "height": 544 / 720, "width": 960 / 1280}), (16, 9, 0.7, 1)]
FLUX = [(6, 9, 1.0, 1), (20, 6, 0.8, 0.5), (8, 9, 0.6, 1)]


# ---------------------------------------------------------------- analytic denoiser
class GaussianData:
    """Per-channel Gaussian data x0 ~ N(mu_c, s_c^2); exact flow-matching velocity."""

    def __init__(self, mu, s):
        self.mu = np.array(mu, np.float64)
        self.s = np.array(s, np.float64)

    def velocity(self, x, timestep):
        sig = float(timestep) / 1000.0  # the model sees only t = 1000*sigma (float32)
        a = 1.0 - sig
        s2 = self.s ** 2
        gain = a * s2 / (a * a * s2 + sig * sig)
        x64 = x.astype(np.float64)
        ex0 = self.mu + gain * (x64 - a * self.mu)
        return ((x64 - ex0) / sig).astype(np.float32)


def run(plan, base, channels, seed, cond, uncond=None, cfg=None):
    stages = resolve(plan, base)
    abl = plan.get("ablations", {})
    filt = plan.get("filters", {})
    up, down = filt.get("upsampling", "lanczos3"), filt.get("downsampling", "lanczos3")
    s0 = stages[0]["size"]
    x = GaussianNoise(stage_seed(seed, 0)).gaussian(channels * s0[0] * s0[1] * s0[2]).reshape(1, *s0, channels)
    x0_last = None
    log = []
    for i, st in enumerate(stages):
        sig = st["sigmas"]
        if i > 0:
            if not abl.get("renoise", True):
                x = resample_video(x, st["size"], up, down)
            else:
                src = x if plan.get("transition", "restart") == "restart" else x0_last
                x0 = resample_video(src, st["size"], up, down)
                n = int(np.prod(x0.shape))
                eps = GaussianNoise(stage_seed(seed, i)).gaussian(n).reshape(x0.shape)
                a = np.float32(1) - sig[0]
                x = (a * x0 + sig[0] * eps).astype(np.float32)
        for k in range(len(sig) - 1):
            t = np.float32(sig[k] * np.float32(1000))
            v = cond.velocity(x, t)
            if cfg is not None:
                vu = uncond.velocity(x, t)
                v = (vu + np.float32(cfg) * (v - vu)).astype(np.float32)
            x0_last = (x + (-sig[k]) * v).astype(np.float32)
            x = (x + (sig[k + 1] - sig[k]) * v).astype(np.float32)
            log.append(float(sig[k]))
        log.append("|")
    return x, log


# ---------------------------------------------------------------- checks and fixtures
def check_quoted_lists():
    f = resolve(plan_json("flux", FLUX, 3), (1, 128, 128))
    r = lambda a: [round(float(v), 3) for v in a]
    assert r(f[0]["sigmas"]) == [1.0, 0.978, 0.947, 0.9, 0.818, 0.643, 0.0], r(f[0]["sigmas"])
    assert r(f[1]["sigmas"]) == [0.96, 0.947, 0.933, 0.918, 0.9, 0.88, 0.857, 0.831, 0.8, 0.764, 0.72, 0.667, 0.6,
                                 0.514, 0.4, 0.24, 0.0], r(f[1]["sigmas"])
    assert r(f[2]["sigmas"]) == [0.938, 0.9, 0.844, 0.75, 0.562, 0.0]
    fa = resolve(plan_json("flux", FLUX, 3, reading="A"), (1, 128, 128))
    assert len(fa[1]["sigmas"]) == 21 and r(fa[1]["sigmas"])[0] == 0.96
    assert r(fa[2]["sigmas"]) == [0.931, 0.909, 0.88, 0.844, 0.794, 0.723, 0.614, 0.422, 0.0]
    h = resolve(plan_json("hunyuan", HUNYUAN, 7), (33, 90, 160))
    assert r(h[0]["sigmas"]) == [1.0, 0.955, 0.875, 0.7, 0.0]
    assert len(h[1]["sigmas"]) == 21 and r(h[1]["sigmas"])[0] == 0.978
    assert r(h[2]["sigmas"]) == [0.964, 0.952, 0.938, 0.92, 0.9, 0.875, 0.844, 0.804, 0.75, 0.675, 0.562, 0.375, 0.0]
    assert h[1]["size"] == (33, 68, 120)
    ha = resolve(plan_json("hunyuan", HUNYUAN, 7, reading="A"), (33, 90, 160))
    assert len(ha[1]["sigmas"]) == 25 and r(ha[1]["sigmas"])[0] == 0.973
    assert len(ha[2]["sigmas"]) == 17 and r(ha[2]["sigmas"])[0] == 0.955


def check_against_diffusers():
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler
    for n, s in [(50, 7.0), (2, 7.0), (20, 6.0), (8, 9.0), (7, 3.0)]:
        sch = FlowMatchEulerDiscreteScheduler(shift=s)
        sch.set_timesteps(sigmas=list(np.linspace(1.0, 0.0, n + 1)[:-1]))
        ours = standard(n, s)
        assert np.array_equal(sch.sigmas.numpy(), ours), (n, s)
        assert np.array_equal(sch.timesteps.numpy(), (ours[:-1] * np.float32(1000)).astype(np.float32))
    return torch.__version__


def check_against_pillow():
    from PIL import Image
    rng = np.random.default_rng(0)
    img = rng.standard_normal((13, 11)).astype(np.float32)
    pil = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
           "bicubic": Image.Resampling.BICUBIC, "lanczos3": Image.Resampling.LANCZOS, "area": Image.Resampling.BOX}
    worst = 0.0
    for name, mode in pil.items():
        for (h, w) in [(26, 22), (6, 5), (13, 4), (20, 11)]:
            ref = np.asarray(Image.fromarray(img, mode="F").resize((w, h), mode), dtype=np.float32)
            ours = resample_axis(resample_axis(img[None], 1, h, name), 2, w, name)[0]
            worst = max(worst, float(np.abs(ref - ours).max()))
    assert worst < 2e-5, worst
    return worst


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../Tests/Fixtures/sampler")
    os.makedirs(out, exist_ok=True)
    torch_version = check_against_diffusers()
    check_quoted_lists()
    pil_err = check_against_pillow()

    # RNG
    rng = {"cases": []}
    for seed in (0, 42, 0xDEADBEEF):
        g = GaussianNoise(seed)
        bits = [str(g.next_bits()) for _ in range(4)]
        rng["cases"].append({"seed": str(seed), "bits": bits,
                             "gaussian": [float(v) for v in GaussianNoise(seed).gaussian(9)],
                             "stage_seeds": [str(stage_seed(seed, i)) for i in range(3)]})

    # sigma tables
    tables = []
    for name, stages, bs, base in [("flux", FLUX, 3, (1, 128, 128)), ("hunyuan", HUNYUAN, 7, (33, 90, 160)),
                                   ("hunyuan-small", HUNYUAN, 7, (33, 16, 16))]:
        for reading in ("A", "B"):
            for transition in ("restart", "hand-off"):
                p = plan_json(name, stages, bs, reading=reading, transition=transition)
                tables.append({"plan": p, "base": list(base),
                               "stages": [{"size": list(s["size"]), "tokens": s["tokens"],
                                           "sigmas": [float(v) for v in s["sigmas"]]} for s in resolve(p, base)]})
    standard_tables = [{"steps": n, "shift": s, "sigmas": [float(v) for v in standard(n, s)]}
                       for n, s in [(50, 7.0), (2, 7.0), (20, 6.0), (1, 1.0)]]

    # resampling
    rs = np.random.default_rng(1).standard_normal((1, 3, 6, 5, 2)).astype(np.float32)
    resample_cases = []
    for name in RADIUS:
        for size in [(3, 12, 10), (3, 3, 2), (5, 4, 7), (2, 6, 5)]:
            resample_cases.append({"filter": name, "size": list(size),
                                   "output": [float(v) for v in resample_video(rs, size, name, name).ravel()]})

    # whole runs with the analytic denoiser
    cond = GaussianData([0.5, -1.0, 0.0, 2.0], [0.5, 1.0, 2.0, 0.25])
    uncond = GaussianData([0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0])
    runs = []
    specs = [
        ("B-lanczos", plan_json("small", [(4, 7, 1.0, 1), (6, 9, 0.8, 0.5), (4, 9, 0.7, 1)], 7), None),
        ("A-cfg-bicubic-area-frames", plan_json(
            "small-a", [(3, 5, 1.0, 1), (5, 6, 0.8, {"frames": 2 / 3, "height": 0.5, "width": 0.75}), (3, 6, 0.6, 1)],
            5, reading="A", filters={"upsampling": "bicubic", "downsampling": "area"}), 3.0),
        ("handoff-5stage", plan_json(
            "small-h", [(4, 7, 1.0, 1), (5, 9, 0.8, 0.75), (6, 9, 0.6, 0.5), (4, 9, 0.5, 0.75), (5, 9, 0.4, 1)], 7,
            transition="hand-off"), None),
        ("no-renoise-no-reshift", plan_json(
            "small-abl", [(4, 7, 1.0, 1), (6, 9, 0.8, 0.5), (4, 9, 0.7, 1)], 4,
            ablations={"reshift": False, "renoise": False, "bottleneck": True}), None),
    ]
    base = (3, 8, 8)
    for name, p, cfg in specs:
        x, log = run(p, base, 4, 7, cond, uncond, cfg)
        runs.append({"name": name, "plan": p, "base": list(base), "channels": 4, "seed": 7, "cfg": cfg,
                     "cond": {"mu": list(cond.mu), "s": list(cond.s)},
                     "uncond": {"mu": list(uncond.mu), "s": list(uncond.s)},
                     "sigmas_called": [v for v in log if v != "|"], "final_shape": list(x.shape),
                     "final": [float(v) for v in x.ravel()]})

    def dump(name, obj):
        with open(os.path.join(out, name), "w") as f:
            json.dump(obj, f, indent=None, separators=(",", ":"))

    dump("rng.json", rng)
    dump("sigmas.json", {"plans": tables, "standard": standard_tables})
    dump("resample.json", {"input_shape": list(rs.shape), "input": [float(v) for v in rs.ravel()],
                           "cases": resample_cases})
    dump("runs.json", {"runs": runs})
    import PIL
    import diffusers
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"script": "Scripts/sampler/reference_sampler.py",
                   "numpy": np.__version__, "diffusers": diffusers.__version__, "torch": torch_version,
                   "pillow": PIL.__version__, "python": sys.version.split()[0],
                   "seeds": {"rng": [0, 42, 0xDEADBEEF], "runs": 7, "resample_input": "numpy default_rng(1)"},
                   "checks": {"diffusers_scheduler": "bit-identical sigmas/timesteps for 5 (N, shift)",
                              "pillow_float_resize_max_abs": pil_err,
                              "bottleneck-sampling.md sigma lists": "FLUX and HunyuanVideo, readings A and B"}},
                  f, indent=2)
    print("wrote", out, file=sys.stderr)


if __name__ == "__main__":
    main()
