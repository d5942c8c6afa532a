"""Where in the clip the prompt alone draws the motion: per latent frame t of the 128-px held-out clips
of a checkpoint's pools (33 and 129 frames), the s = 1 estimate's motion cosine and amplitude, as
`cpu_train.prompt_layout_r2` measures them over the whole clip (deviations from the clip's time
average on the objects' cells), and the truth's deviation size (RMS) at that frame.

usage: BOTTLENECK_TRAIN_DIR=... s1_per_frame.py TRANSFORMER_FOLDER
  prints one line per clip length: t:cos/amplitude/truth RMS for every latent frame."""
import json
import os
import sys

import torch
from safetensors.torch import load_file

import cpu_train as ct
from models import make_dit

torch.set_num_threads(1)
folder = sys.argv[1]
with open(os.path.join(folder, "config.json")) as f:
    dit = make_dit({k: v for k, v in json.load(f).items() if not k.startswith("_")})
dit.load_state_dict({k: v.float() for k, v in load_file(os.path.join(folder, "diffusion_pytorch_model.safetensors")).items()})
d = os.environ.get("BOTTLENECK_TRAIN_DIR", os.path.expanduser("~/.cache/bottleneck/train"))
pools = torch.load(os.path.join(d, "pools.pt"), map_location="cpu", weights_only=False)
for e in pools["heldout_eval"]:
    if e["px"] != 128:
        continue
    with torch.no_grad():
        x0, _, _, obj, dev, est_dev = ct.s1_estimate(dit.eval(), e)  # as prompt_layout_r2 measures
    row = []
    for t in range(x0.shape[2]):
        m = obj[:, :, t]
        a, b = est_dev[:, :, t][m], dev[:, :, t][m]
        cos = torch.nn.functional.cosine_similarity(a, b, dim=0).item()
        row.append(f"{t}:{cos:.2f}/{(a.norm() / b.norm()).item():.2f}/{b.pow(2).mean().sqrt().item():.2f}")
    print(f"{e['F']} frames:", " ".join(row))
