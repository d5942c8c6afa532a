"""Sanity check of an exported pipeline on the CPU: held-out prompts, plain N-step flow-matching Euler
(shift from scheduler_config.json), classifier-free guidance against "", decode with the default
(temporally tiled) diffusers decode, and a PNG frame strip per prompt.

  python Scripts/training/sample_check.py --pipe pipelines/shapes --n 4 --out /tmp/check.png"""
import argparse, json, os, sys, time
import torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from textenc import MiniLMText  # noqa: E402
from train import frames_png, sample_euler  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--pipe", default="pipelines/shapes")
ap.add_argument("--prompts", default="samples/heldout_prompts.jsonl")
ap.add_argument("--idx", default="0,1,2,3")
ap.add_argument("--frames", type=int, default=33)
ap.add_argument("--px", type=int, default=128)
ap.add_argument("--steps", type=int, default=30)
ap.add_argument("--cfg", type=float, default=4.0)
ap.add_argument("--shift", type=float, default=None)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--out", required=True)
ap.add_argument("--show-frames", default="0,8,16,24,32")
a = ap.parse_args()
torch.set_num_threads(a.threads)
from diffusers import AutoencoderKLHunyuanVideo, HunyuanVideoTransformer3DModel  # noqa: E402
dit = HunyuanVideoTransformer3DModel.from_pretrained(os.path.join(a.pipe, "transformer"), torch_dtype=torch.float32).eval()
vae = AutoencoderKLHunyuanVideo.from_pretrained(os.path.join(a.pipe, "vae"), torch_dtype=torch.float32).eval()
shift = a.shift or json.load(open(os.path.join(a.pipe, "scheduler", "scheduler_config.json")))["shift"]
te = MiniLMText(os.path.join(a.pipe, "text_encoder"), os.path.join(a.pipe, "tokenizer"))
held = [json.loads(l) for l in open(a.prompts)]
sel = [int(i) for i in a.idx.split(",")]
prompts = [held[i]["prompt"] for i in sel]
s, m, p = te.encode(prompts); us, um, up = te.encode([""])
t0 = time.time()
g = torch.Generator().manual_seed(a.seed)
shape = (16, (a.frames - 1) // 4 + 1, a.px // 8, a.px // 8)
lat = sample_euler(dit, s, m, p, us, um, up, shape, a.steps, shift, a.cfg, g, torch.device("cpu"), amp=False)
sf = vae.config.scaling_factor
with torch.no_grad():
    vid = torch.cat([vae.decode(lat[i:i + 1] / sf).sample for i in range(lat.shape[0])])
open(a.out, "wb").write(frames_png(vid, [int(f) for f in a.show_frames.split(",")]))
print(json.dumps({"prompts": prompts, "shift": shift, "cfg": a.cfg, "steps": a.steps, "seconds": round(time.time() - t0, 1)}))
