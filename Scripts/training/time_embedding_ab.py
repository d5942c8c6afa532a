"""A/B: does the transformer draw the motion at s = 1 faster when it is told each latent frame's
normalised time u = t / (T - 1)?

HunyuanVideo's transformer sees positions only through 3D RoPE, which is relative: a token learns
where it is in the clip only by attending across the clip's boundaries. A motion spans the whole clip
(world_spec.json, "motion_time"), so drawing frame t at s = 1 needs u. The s = 1 estimate's motion
cosine per latent frame of the step-53176 transformer is high at the clip's ends and middle and low
at its quarters (0.12-0.22 at 129 frames; s1_per_frame.py; Docs/training.md, "A third CPU generation, wider captions,
and where in the clip the motion is drawn").

Both arms continue the same checkpoint's transformer on the same batches (the 128-px buckets, s = 1
share 0.6 as the chunk command); arm "time" adds a zero-initialised linear map of sin/cos features of
u to every token after the patch embedding (so it starts as the same function). Every --eval-every
steps: the held-out s = 1 measures (`prompt_layout_r2`) of each arm's EMA (decay 0.99).

usage: BOTTLENECK_TRAIN_DIR=... time_embedding_ab.py ARM OUT.jsonl [--steps N] [--hours H]
  ARM: base | time. Run both arms at once with --threads 1 each; same --seed, same batches."""
import argparse
import copy
import json
import math
import os
import time

import torch

import cpu_train as ct
from models import make_dit


class TimeEmbedding(torch.nn.Module):
    """[T', hidden] from sin/cos of k multiples of pi * u, u = t / (T' - 1) (0 for one frame)."""

    def __init__(self, hidden, k=8):
        super().__init__()
        self.k = k
        self.proj = torch.nn.Linear(2 * k, hidden)
        torch.nn.init.zeros_(self.proj.weight)
        torch.nn.init.zeros_(self.proj.bias)

    def forward(self, frames):
        u = torch.linspace(0, 1, frames) if frames > 1 else torch.zeros(1)
        a = u[:, None] * math.pi * torch.arange(1, self.k + 1, dtype=torch.float32)
        return self.proj(torch.cat([a.sin(), a.cos()], 1))


def add_time_embedding(dit):
    """Attaches a TimeEmbedding to dit (as dit.time_embedding), added to its tokens by attach_hook."""
    dit.time_embedding = TimeEmbedding(dit.config.num_attention_heads * dit.config.attention_head_dim)
    attach_hook(dit)


def attach_hook(model):
    """Adds model.time_embedding to the patch embedding's tokens [B, T'*H'*W', C] (frames slowest)
    through a forward hook (a deep copy's hook would still read the original's embedding)."""
    model.x_embedder._forward_hooks.clear()
    pt, p = model.config.patch_size_t, model.config.patch_size

    def hook(module, inputs, out):
        _, _, frames, h, w = inputs[0].shape
        e = model.time_embedding(frames // pt)
        return out + e.repeat_interleave((h // p) * (w // p), 0)[None].to(out.dtype)

    model.x_embedder.register_forward_hook(hook)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("arm", choices=["base", "time"])
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--hours", type=float, default=0.7)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--lr", type=float, default=6e-5)
    ap.add_argument("--new-lr", type=float, default=1e-3, help="learning rate of the time embedding")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    d = os.environ.get("BOTTLENECK_TRAIN_DIR", os.path.expanduser("~/.cache/bottleneck/train"))
    state = json.load(open(os.path.join(d, "state.json")))
    pools = torch.load(os.path.join(d, "pools.pt"), map_location="cpu", weights_only=False)
    text, ev = pools["text"], pools["heldout_eval"]
    cap_index = {c: i for i, c in enumerate(text["captions"])}
    buckets = []
    for (F, px, bs, _) in ct.DIT_BUCKETS:
        if px != 128:
            continue
        b = pools["buckets"][(F, px)]
        buckets.append((F, px, bs, torch.cat(b["lat"]), torch.tensor([[cap_index[c] for c in cs] for cs in b["captions"]])))
    dit = make_dit(state["dit_config"])
    dit.load_state_dict(torch.load(os.path.join(d, "dit.pt"), map_location="cpu", weights_only=False)["ema"])
    if a.arm == "time":
        add_time_embedding(dit)
    ema = copy.deepcopy(dit).requires_grad_(False)
    if a.arm == "time":
        attach_hook(ema)
    new = [p for n, p in dit.named_parameters() if n.startswith("time_embedding.")]
    old = [p for n, p in dit.named_parameters() if not n.startswith("time_embedding.")]
    groups = [{"params": old, "lr": a.lr}] + ([{"params": new, "lr": a.new_lr}] if new else [])
    opt = torch.optim.AdamW(groups, betas=(0.9, 0.99), weight_decay=0.01)
    gen = torch.Generator().manual_seed(a.seed)
    u = cap_index[""]
    t0, step = time.time(), 0
    with open(a.out, "w") as log:
        def evaluate():
            e = ct.prompt_layout_r2(ema, ev)
            e.update(step=step, seconds=round(time.time() - t0))
            log.write(json.dumps(e) + "\n"); log.flush()
            print(a.arm, e, flush=True)
        evaluate()
        while step < a.steps and time.time() - t0 < a.hours * 3600:
            F, px, bs, lat, caps = buckets[int(torch.randint(len(buckets), (1,), generator=gen))]
            idx = torch.randint(lat.shape[0], (bs,), generator=gen)
            x0 = lat[idx].float()
            ci = caps[idx, torch.randint(caps.shape[1], (bs,), generator=gen)]
            s = torch.sigmoid(torch.randn(bs, generator=gen))
            s = (6 * s / (1 + 5 * s)).clamp(1e-4, 1.0)
            s = torch.where(torch.rand(bs, generator=gen) < 0.6, torch.ones_like(s), s)
            drop = (torch.rand(bs, generator=gen) < ct.TEXT_DROPOUT) & (s < 1.0)
            ci = torch.where(drop, torch.full_like(ci, u), ci)
            eps = torch.randn(x0.shape, generator=gen)
            sv = s.view(-1, 1, 1, 1, 1)
            pred = dit((1 - sv) * x0 + sv * eps, s * 1000, text["states"][ci].float(), text["mask"][ci].long(),
                       text["pooled"][ci].float(), return_dict=False)[0]
            w = ct.latent_object_weight(x0, 4.0)
            loss = (w * (pred - (eps - x0)) ** 2).mean() / w.mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(dit.parameters(), 1.0)
            opt.step()
            ct.ema_update(ema, dit, 0.99)
            step += 1
            if step % a.eval_every == 0:
                evaluate()
        evaluate()


if __name__ == "__main__":
    main()
