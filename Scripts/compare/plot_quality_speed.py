"""Quality against speed-up for every method of a `bottleneck-bench generate` run, in the manner of
the paper's Figure 2 (arXiv 2503.18940): one point per method, standard sampling at 1x.

Left panel: the analyzer's attribute accuracy; right panel: PSNR against the standard video of
the same seed (SSIM in the point labels). The x axis is the speed-up over standard sampling:
counted transformer FLOPs (default), whole-process wall time, or denoising time.

  .venv/bin/python Scripts/compare/plot_quality_speed.py OUT/results.json -o quality_speed.png [--speedup wall]
"""
import argparse
import json
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SPEEDUP_KEYS = {"flops": ("flops_speedup", "speed-up, counted FLOPs"),
                "wall": ("wall_speedup", "speed-up, wall time (whole process)"),
                "denoise": ("denoise_speedup", "speed-up, denoising time")}


def number(v):
    """JSON numbers, plus the "inf"/"nan" strings bench writes for non-finite values."""
    return float(v) if v is not None else math.nan


def family(method):
    if method == "std":
        return "standard", "black", "*"
    if method.startswith("steps"):
        return "fewer steps", "tab:gray", "s"
    if method in ("x2", "x2.5", "x3"):
        return "bottleneck", "tab:red", "o"
    return "x3 ablations, 5 stages", "tab:blue", "^"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", help="results.json of bench generate (or its --json output)")
    ap.add_argument("-o", "--output", required=True, help="PNG to write")
    ap.add_argument("--speedup", choices=SPEEDUP_KEYS, default="flops")
    a = ap.parse_args()
    with open(a.results) as f:
        doc = json.load(f)
    key, xlabel = SPEEDUP_KEYS[a.speedup]
    s = doc["settings"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    panels = [(axes[0], "accuracy", "analyzer accuracy (all attributes)"),
              (axes[1], "psnr_mean", "PSNR vs standard, same seed (dB)")]
    seen = set()
    for ax, quality, ylabel in panels:
        labels = {}  # methods on the same point (e.g. x3 variants of equal cost) share one label
        for m in doc["methods"]:
            x = number(m[key])
            y = number(m.get(quality))
            if m["method"] == "std" and quality == "psnr_mean":
                continue  # the reference itself
            if not (math.isfinite(x) and math.isfinite(y)):
                continue
            name, color, marker = family(m["method"])
            ax.scatter([x], [y], color=color, marker=marker, s=60,
                       label=name if (ax, name) not in seen else None)
            seen.add((ax, name))
            label = m["method"]
            if quality == "psnr_mean" and m.get("ssim_mean") is not None:
                label += f" (SSIM {number(m['ssim_mean']):.3f})"
            labels.setdefault((round(x, 3), round(y, 3)), []).append(label)
        for (x, y), names in labels.items():
            ax.annotate("\n".join(names), (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    fig.suptitle(f"Quality vs speed-up: {doc['prompts']} prompt(s), {s['frames']} frames {s['width']}x{s['height']}, "
                 f"{s['steps']} standard steps, CFG {s['cfg']}, {s['threads']} threads")
    fig.tight_layout()
    fig.savefig(a.output, dpi=120)
    print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
