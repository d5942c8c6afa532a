"""Held-out accuracy of a pipeline as a user runs it: `bottleneck batch` over the first N held-out
prompts (each line's seed), then `bottleneck evaluate` on the videos with the lines' attributes.

usage: heldout_eval.py OUT_DIR [--count N] [--bin .build/release/bottleneck] [-- BATCH OPTIONS...]
  heldout_eval.py /tmp/eval40 --count 40 -- --pipeline DIR                       # the defaults a user gets
  heldout_eval.py /tmp/eval120 --count 120 -- --frames 33 --bottleneck off --steps 50 --pipeline DIR
Writes OUT_DIR/prompts.jsonl, the videos and manifest.jsonl (batch's), OUT_DIR/eval.jsonl
(prompt, video, attributes) and OUT_DIR/accuracy.json (`evaluate --json`), and prints the table.
Needs no Python packages beyond the standard library."""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--count", type=int, default=40)
ap.add_argument("--prompts", default=os.path.join(ROOT, "samples", "heldout_prompts.jsonl"))
ap.add_argument("--bin", default=os.path.join(ROOT, ".build", "release", "bottleneck"))
own, extra = (sys.argv[1:sys.argv.index("--")], sys.argv[sys.argv.index("--") + 1:]) if "--" in sys.argv \
    else (sys.argv[1:], [])
a = ap.parse_args(own)

os.makedirs(a.out, exist_ok=True)
with open(a.prompts) as f:
    held = [json.loads(l) for l in f if l.strip()][:a.count]
prompts = os.path.join(a.out, "prompts.jsonl")
with open(prompts, "w") as f:
    for h in held:
        f.write(json.dumps({"prompt": h["prompt"], "seed": h["seed"]}) + "\n")
subprocess.run([a.bin, "batch", prompts, "-o", a.out, "--resume", "--progress", "none"] + extra, check=True)

# batch's manifest: one "done" entry per prompt line (1-based `line`), output relative or absolute
done = {}
with open(os.path.join(a.out, "manifest.jsonl")) as f:
    for l in f:
        e = json.loads(l)
        if e.get("status") == "done" and e.get("line"):
            done[e["line"]] = e["output"]
missing = [i + 1 for i in range(len(held)) if i + 1 not in done]
if missing:
    sys.exit(f"{a.out}/manifest.jsonl: no finished video for prompt lines {missing}")
evaluation = os.path.join(a.out, "eval.jsonl")
with open(evaluation, "w") as f:
    for i, h in enumerate(held):
        f.write(json.dumps({"prompt": h["prompt"], "video": done[i + 1], "attributes": h["attributes"]}) + "\n")
result = subprocess.run([a.bin, "evaluate", evaluation, "--json"], check=True, capture_output=True, text=True)
with open(os.path.join(a.out, "accuracy.json"), "w") as f:
    f.write(result.stdout)
subprocess.run([a.bin, "evaluate", evaluation], check=True)
