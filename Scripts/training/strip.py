"""Picture strip: for each video of an evaluation manifest (prompt, video, attributes, as written by
heldout_eval.py or vae_recon_eval.py), ground truth rendered by the world (left) beside the video
(right), five evenly spaced frames each, one row per prompt, the prompt written above the row.

usage: strip.py MANIFEST OUT.png [--rows 0,1,2] [--seeds held-out.jsonl] [--trajectories canonical]
Ground truth is the world's clip for the line's attributes and seed: the seed is taken from the
held-out prompt file by prompt text, else from the line's "seed" (default 0), so a hand-written line
such as the README example's gets a ground truth of the same scene (its own motion parameters).
--trajectories canonical renders the world a model trained with that option learnt (world.motion_params).
Reading the videos needs the ffmpeg program (tooling; the engine links libav itself)."""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def read_video(path):
    """[F, H, W, 3] uint8 through the ffmpeg program."""
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                            "-of", "csv=p=0", path], check=True, capture_output=True, text=True).stdout.strip()
    w, h = (int(v) for v in probe.split(","))
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def pick(frames, n=5):
    idx = np.linspace(0, len(frames) - 1, n).round().astype(int)
    return np.concatenate([frames[i] for i in idx], axis=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("manifest")
    ap.add_argument("out")
    ap.add_argument("--rows", default=None, help="comma-separated manifest rows (0-based); default all")
    ap.add_argument("--seeds", default=os.path.join(ROOT, "samples", "heldout_prompts.jsonl"))
    ap.add_argument("--trajectories", choices=["varied", "canonical"], default="varied")
    a = ap.parse_args()
    with open(a.seeds) as f:
        seeds = {h["prompt"]: h for h in map(json.loads, f)}
    with open(a.manifest) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    if a.rows:
        lines = [lines[int(i)] for i in a.rows.split(",")]
    folder = os.path.dirname(os.path.abspath(a.manifest))
    rows = []
    for line in lines:
        path = line["video"] if os.path.isabs(line["video"]) else os.path.join(folder, line["video"])
        video = read_video(path)
        model = pick(video)
        seed = seeds[line["prompt"]]["seed"] if line["prompt"] in seeds else line.get("seed", 0)
        clip = world.clip_from_attributes(line["attributes"], seed, a.trajectories == "canonical")
        x = world.render_batch([clip], len(video), video.shape[1], video.shape[2])
        truth = pick(((x[0].permute(1, 2, 3, 0).numpy() + 1) * 127.5).round().astype(np.uint8))
        gap = np.full((model.shape[0], 8, 3), 255, np.uint8)
        body = np.concatenate([truth, gap, model], axis=1)
        caption = Image.new("RGB", (body.shape[1], 16), "white")
        ImageDraw.Draw(caption).text((2, 2), line["prompt"][:120], fill="black")
        rows.append(np.concatenate([np.asarray(caption), body], axis=0))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    Image.fromarray(np.concatenate(rows, axis=0)).save(a.out)
    print(f"{a.out}: {len(rows)} rows (left: ground truth, right: the video)")


if __name__ == "__main__":
    main()
