"""Docs/training_cpu.png: the CPU run's progress against CPU hours, from the trainer's state.json
(cpu_train.py) and the held-out accuracies measured on its exports (a JSONL of
{"cpu_hours", "samples", "overall", "background", "object count", "color", "shape", "motion", "label",
"kind"}; kind "pipeline" (default) is heldout_eval.py on a whole export, "vae-only" is
vae_recon_eval.py: ground truth through the VAE, the ceiling of any transformer on its latents).

usage: plot_cpu_training.py STATE.json ACCURACY.jsonl OUT.png"""
import json
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

state_path, accuracy_path, out = sys.argv[1:4]
with open(state_path) as f:
    s = json.load(f)
with open(accuracy_path) as f:
    acc = [json.loads(l) for l in f if l.strip()]

fig, ax = plt.subplots(1, 3, figsize=(16, 4.2))
ve = s["vae"]["eval"]
ax[0].plot([e["cpu_s"] / 3600 for e in ve], [e["l1"] for e in ve], "o-", label="all pixels")
ax[0].plot([e["cpu_s"] / 3600 for e in ve], [e["l1_objects"] for e in ve], "o-", label="object pixels")
ax[0].set_title(f"VAE: held-out reconstruction L1 (EMA), {s['vae']['step']} steps")
ax[0].set_xlabel("CPU hours (wall, 2 threads)"); ax[0].legend()

de = s["dit"]["eval"]
for key in ("33x64", "33x128"):
    ax[1].plot([e["samples"] for e in de], [e[key] for e in de], "o-", label=f"{key} (frames x px)")
ax[1].set_title(f"Transformer: held-out flow loss (EMA), {s['dit']['samples']} samples")
ax[1].set_xlabel("training samples"); ax[1].legend()

pipe = [a for a in acc if a.get("kind", "pipeline") == "pipeline"]
vae_only = [a for a in acc if a.get("kind") == "vae-only"]  # ground truth through the VAE: the pipeline's ceiling
for key in ("overall", "background", "object count", "color", "shape", "motion"):
    ax[2].plot([a["cpu_hours"] for a in pipe], [a[key] for a in pipe], "o-" if key == "overall" else "o--", label=key,
               linewidth=2.5 if key == "overall" else 1)
if vae_only:
    ax[2].plot([a["cpu_hours"] for a in vae_only], [a["overall"] for a in vae_only], "s-", color="black",
               label="overall, VAE only", linewidth=1.5)
for a in acc:
    ax[2].annotate(a["label"], (a["cpu_hours"], a["overall"]), fontsize=7, textcoords="offset points", xytext=(3, 3))
ax[2].axhline(0.85, color="gray", linewidth=0.8, linestyle=":")
ax[2].set_ylim(0, 1.02); ax[2].set_xlim(0, max([a["cpu_hours"] for a in acc] + [1.0]) * 1.15)
ax[2].set_title("Held-out accuracy (bottleneck evaluate)")
ax[2].set_xlabel("CPU hours spent on the weights evaluated (VAE + pools + transformer)"); ax[2].legend(fontsize=7)
fig.tight_layout()
fig.savefig(out, dpi=110)
print(out)
