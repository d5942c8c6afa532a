"""Docs/training_loss.png from the training log (log.json inside the run's meta.tar, or a plain log.json)."""
import json, sys, tarfile
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

src, out = sys.argv[1], sys.argv[2]
if src.endswith(".tar"):
    t = tarfile.open(src); log = json.loads(t.extractfile("log.json").read())
else:
    log = json.load(open(src))
fig, ax = plt.subplots(1, 3, figsize=(15, 4))
vh = log["phases"]["vae"]["history"]
ax[0].plot([h["step"] for h in vh], [h["l1"] for h in vh], label="L1")
ax[0].plot([h["step"] for h in vh], [h["l2"] for h in vh], label="L2")
ax[0].set_title(f"VAE reconstruction ({log['phases']['vae']['steps']} steps)"); ax[0].set_xlabel("step"); ax[0].set_yscale("log"); ax[0].legend()
dh = log["phases"]["dit"]["history"]
for b in log["dit_buckets"]:
    pts = [(h["step"], h["loss"]) for h in dh if h["F"] == b[0] and h["px"] == b[1]]
    if not pts:
        continue
    sm, xs, ys = None, [], []
    for s, l in pts:
        sm = l if sm is None else 0.9 * sm + 0.1 * l
        xs.append(s); ys.append(sm)
    ax[1].plot(xs, ys, label=f"{b[0]} frames {b[1]} px")
ax[1].set_title("DiT flow-matching loss (train, EMA-smoothed)"); ax[1].set_xlabel("step"); ax[1].set_yscale("log"); ax[1].legend(fontsize=8)
ev = log["phases"]["dit"]["eval"]
for k in [k for k in ev[0] if k not in ("step", "t")]:
    ax[2].plot([e["step"] for e in ev], [e[k] for e in ev], marker="o", label=f"held-out {k.replace('x', ' frames ')} px")
ax[2].set_title("DiT held-out loss (EMA weights, fixed noise)"); ax[2].set_xlabel("step"); ax[2].set_yscale("log"); ax[2].legend(fontsize=8)
fig.suptitle(f"shapes pipeline training on {log['device']}")
fig.tight_layout(); fig.savefig(out, dpi=80)
print("wrote", out)
