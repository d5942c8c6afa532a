"""Procedural 'shapes' world: deterministic clips of moving coloured shapes plus captions.

Everything is derived from an integer seed:
    clip = make_clip(seed, split="train")      # {"seed", "attributes", "caption", "template", "params"}
    video = render_batch([clip, ...], F, H, W, device)   # [B, 3, F, H, W] in [-1, 1]
The vocabulary, colour values, synonyms, templates and the held-out split live in world_spec.json.
Geometry/motion of a clip is a pure function of (attributes, seed) (see motion_params), so a
held-out prompt line {"prompt", "attributes", "seed"} reproduces its ground-truth clip.
"""
import json
import math
import os
import random

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = json.load(open(os.path.join(HERE, "world_spec.json")))
SHAPES = SPEC["shapes"]
MOTIONS = SPEC["motions"]
COLORS = SPEC["colors"]
BACKGROUNDS = SPEC["backgrounds"]
HELDOUT_TRIPLES = {tuple(t) for t in SPEC["heldout"]["triples"]}
HELDOUT_TEMPLATES = set(SPEC["heldout"]["templates"])
SYN = SPEC["synonyms"]
TEMPLATES = SPEC["templates"]
HORIZONTAL = {"moving left", "moving right"}
VERTICAL = {"moving up", "moving down", "bouncing"}


# ----------------------------------------------------------------------------- attributes

def _allowed_motions(shape):
    return [m for m in MOTIONS if not (shape == "circle" and m == "spinning")]


def is_heldout_object(o):
    return (o["shape"], o["color"], o["motion"]) in HELDOUT_TRIPLES


def sample_attributes(rng, n_objects=None, heldout_ok=False):
    """Training attributes (no held-out triple) unless heldout_ok."""
    bg = rng.choice(list(BACKGROUNDS))
    n = n_objects or (1 if rng.random() < 0.6 else 2)
    objs = []
    used_colors = set()
    while len(objs) < n:
        shape = rng.choice(SHAPES)
        color = rng.choice([c for c in SPEC["allowed_colors_per_background"][bg] if c not in used_colors])
        motion = rng.choice(_allowed_motions(shape))
        o = {"shape": shape, "color": color, "motion": motion}
        if not heldout_ok and is_heldout_object(o):
            continue
        objs.append(o)
        used_colors.add(color)
    return {"background": bg, "objects": objs}


# ----------------------------------------------------------------------------- captions

def _obj_phrase(o, rng):
    color = rng.choice(SYN["colors"][o["color"]])
    shape = rng.choice(SYN["shapes"][o["shape"]])
    art = rng.choice(["a", "a", "a", "one"])
    if art == "a" and color[0] in "aeiou":
        art = "an"
    return f"{art} {color} {shape}"


def caption(attrs, rng, split="train"):
    """Returns (caption, template_id). split='train' never uses held-out templates;
    split='heldout_template' always uses one; 'any' uses all."""
    objs = attrs["objects"]
    kind = "single" if len(objs) == 1 else "double"
    ids = sorted(TEMPLATES[kind])
    if split == "train":
        ids = [i for i in ids if i not in HELDOUT_TEMPLATES]
    elif split == "heldout_template":
        ids = [i for i in ids if i in HELDOUT_TEMPLATES]
    tid = rng.choice(ids)
    bg = rng.choice(SYN["backgrounds"][attrs["background"]])
    if kind == "single":
        text = TEMPLATES[kind][tid].format(obj=_obj_phrase(objs[0], rng),
                                           motion=rng.choice(SYN["motions"][objs[0]["motion"]]), bg=bg)
    else:
        text = TEMPLATES[kind][tid].format(obj1=_obj_phrase(objs[0], rng),
                                           motion1=rng.choice(SYN["motions"][objs[0]["motion"]]),
                                           obj2=_obj_phrase(objs[1], rng),
                                           motion2=rng.choice(SYN["motions"][objs[1]["motion"]]), bg=bg)
    return text, tid


# ----------------------------------------------------------------------------- motion parameters

def motion_params(attrs, seed, canonical=False):
    """Deterministic numeric parameters for each object from (attributes, seed).

    canonical=True: every drawn parameter at the middle of its range and every choice at its first
    option, so the trajectory is a function of the attributes alone (the seed is unused). A small
    model trained on these need not learn a distribution over start, speed, size and phase, whose
    average (the blur a weak model samples) is a chain of blobs along the path
    (Docs/training.md, "One trajectory per motion")."""
    rng = random.Random(seed * 7919 + 17)
    uniform = (lambda lo, hi: (lo + hi) / 2) if canonical else rng.uniform
    choice = (lambda options: options[0]) if canonical else rng.choice
    objs = attrs["objects"]
    two = len(objs) == 2
    split_axis = None
    if two:
        ms = [o["motion"] for o in objs]
        split_axis = "y" if any(m in HORIZONTAL for m in ms) and not any(m in VERTICAL for m in ms) else "x"
        order = [0, 1] if canonical or rng.random() < 0.5 else [1, 0]
    out = []
    for k, o in enumerate(objs):
        r = uniform(0.10, 0.14) if two else uniform(0.12, 0.18)
        m = o["motion"]
        p = {"r": r, "angle0": 0.0, "kind": m}
        margin = r * 1.35 + 0.03
        # anchor
        if two:
            slot = order[k]
            lo, hi = (0.08 + slot * 0.5, 0.42 + slot * 0.5)
            a_split = uniform(lo + 0.05, hi - 0.05)
            a_other = uniform(0.3, 0.7)
            ax, ay = (a_split, a_other) if split_axis == "x" else (a_other, a_split)
        else:
            ax, ay = uniform(0.35, 0.65), uniform(0.35, 0.65)
        if m in ("moving left", "moving right", "moving up", "moving down"):
            along_split = two and ((m in HORIZONTAL) == (split_axis == "x"))
            L = uniform(0.15, 0.3) if along_split else uniform(0.3, 0.6)
            L = min(L, 1 - 2 * margin)
            c = ax if m in HORIZONTAL else ay
            if not along_split:
                c = uniform(margin + L / 2, 1 - margin - L / 2)
            if m in HORIZONTAL:
                ax = c
            else:
                ay = c
            p["length"] = L
        elif m == "bouncing":
            p["height"] = uniform(0.2, 0.4)
            p["bounces"] = uniform(1.5, 3.0)
            p["drift"] = uniform(-0.1, 0.1)
            ay = min(max(ay, margin + p["height"] / 2), 1 - margin - p["height"] / 2) if p["height"] < 1 - 2 * margin else 0.5
        elif m == "orbiting":
            p["radius"] = uniform(0.1, 0.14) if two else uniform(0.15, 0.25)
            p["turns"] = uniform(0.5, 1.25) * choice([-1, 1])
            p["phase"] = uniform(0, 2 * math.pi)
            if not two:
                ax, ay = uniform(0.45, 0.55), uniform(0.45, 0.55)
        elif m == "growing":
            p["factor"] = uniform(1.8, 2.4)
            p["r"] = r * 0.7
        elif m == "shrinking":
            p["factor"] = uniform(1.8, 2.4)
            p["r"] = r * 1.4
        elif m == "spinning":
            p["turns"] = uniform(0.4, 1.2) * choice([-1, 1])
        p["ax"], p["ay"] = ax, ay
        out.append(p)
    return out


def trajectory(p, F):
    """cx, cy (fractions), r (fraction of min side), angle (rad): arrays of length F."""
    u = np.linspace(0.0, 1.0, F) if F > 1 else np.zeros(1)
    cx = np.full(F, p["ax"]); cy = np.full(F, p["ay"]); r = np.full(F, p["r"]); ang = np.full(F, p["angle0"])
    m = p["kind"]
    if m == "moving left":
        cx = p["ax"] + (0.5 - u) * p["length"]
    elif m == "moving right":
        cx = p["ax"] + (u - 0.5) * p["length"]
    elif m == "moving up":
        cy = p["ay"] + (0.5 - u) * p["length"]
    elif m == "moving down":
        cy = p["ay"] + (u - 0.5) * p["length"]
    elif m == "bouncing":
        cx = p["ax"] + (u - 0.5) * p["drift"]
        cy = p["ay"] + p["height"] / 2 - p["height"] * np.abs(np.sin(math.pi * p["bounces"] * u))
    elif m == "orbiting":
        th = p["phase"] + 2 * math.pi * p["turns"] * u
        cx = p["ax"] + p["radius"] * np.cos(th)
        cy = p["ay"] + p["radius"] * np.sin(th)
    elif m == "growing":
        r = p["r"] * (1 + (p["factor"] - 1) * u)
    elif m == "shrinking":
        r = p["r"] * (1 - (1 - 1 / p["factor"]) * u)
    elif m == "spinning":
        ang = p["angle0"] + 2 * math.pi * p["turns"] * u
    return cx, cy, r, ang


# ----------------------------------------------------------------------------- clips

def make_clip(seed, split="train", canonical=False):
    """split='train': training attributes + training templates (what the trainer uses);
    canonical: see motion_params."""
    rng = random.Random(seed)
    attrs = sample_attributes(rng)
    text, tid = caption(attrs, rng, "train")
    return {"seed": seed, "attributes": attrs, "caption": text, "template": tid,
            "params": motion_params(attrs, seed, canonical)}


def clip_from_attributes(attrs, seed, canonical=False):
    return {"seed": seed, "attributes": attrs, "params": motion_params(attrs, seed, canonical)}


# ----------------------------------------------------------------------------- rendering

def render_batch(clips, F, H, W, device="cpu"):
    """Anti-aliased render of a batch of clips -> float32 [B, 3, F, H, W] in [-1, 1]."""
    B = len(clips)
    O = 2
    cx = np.zeros((B, O, F)); cy = np.zeros((B, O, F)); rr = np.ones((B, O, F)); ang = np.zeros((B, O, F))
    shape_id = np.zeros((B, O), dtype=np.int64); present = np.zeros((B, O)); col = np.zeros((B, O, 3))
    bg = np.zeros((B, 3))
    for b, c in enumerate(clips):
        a = c["attributes"]
        bg[b] = BACKGROUNDS[a["background"]]
        for k, (o, p) in enumerate(zip(a["objects"], c["params"])):
            cx[b, k], cy[b, k], rr[b, k], ang[b, k] = trajectory(p, F)
            shape_id[b, k] = SHAPES.index(o["shape"])
            present[b, k] = 1.0
            col[b, k] = COLORS[o["color"]]
    t = lambda x: torch.as_tensor(x, dtype=torch.float32, device=device)
    cx, cy, rr, ang, present, col, bg = map(t, (cx, cy, rr, ang, present, col, bg))
    shape_id = torch.as_tensor(shape_id, device=device)
    S = float(min(H, W))
    ys = (torch.arange(H, device=device, dtype=torch.float32) + 0.5).view(1, 1, H, 1)
    xs = (torch.arange(W, device=device, dtype=torch.float32) + 0.5).view(1, 1, 1, W)
    img = (bg / 127.5 - 1).view(B, 3, 1, 1, 1).expand(B, 3, F, H, W).contiguous()
    for k in range(O):
        ccx = (cx[:, k] * W).view(B, F, 1, 1); ccy = (cy[:, k] * H).view(B, F, 1, 1)
        r = (rr[:, k] * S).view(B, F, 1, 1)
        ca = torch.cos(ang[:, k]).view(B, F, 1, 1); sa = torch.sin(ang[:, k]).view(B, F, 1, 1)
        dx = xs - ccx; dy = ys - ccy
        qx = ca * dx + sa * dy
        qy = -sa * dx + ca * dy
        ax, ay = qx.abs(), qy.abs()
        sd_circle = torch.sqrt(qx * qx + qy * qy) - r
        hs = 0.886 * r
        ddx, ddy = ax - hs, ay - hs
        sd_square = torch.sqrt(ddx.clamp(min=0) ** 2 + ddy.clamp(min=0) ** 2) + torch.maximum(ddx, ddy).clamp(max=0)
        R = 1.35 * r
        rho = R / 2
        sd_tri = torch.maximum(torch.maximum(qy, 0.8660254 * qx - 0.5 * qy), -0.8660254 * qx - 0.5 * qy) - rho
        a_, b_ = 1.3 * r, 0.85 * r
        sd_dia = (ax / b_ + ay / a_ - 1) * (a_ * b_ / torch.sqrt(a_ * a_ + b_ * b_))
        sid = shape_id[:, k].view(B, 1, 1, 1)
        sd = torch.where(sid == 0, sd_circle, torch.where(sid == 1, sd_square, torch.where(sid == 2, sd_tri, sd_dia)))
        cov = (0.5 - sd).clamp(0, 1) * present[:, k].view(B, 1, 1, 1)
        cov = cov.unsqueeze(1)  # B,1,F,H,W
        c = (col[:, k] / 127.5 - 1).view(B, 3, 1, 1, 1)
        img = img * (1 - cov) + c * cov
    return img


# ----------------------------------------------------------------------------- held-out prompts

def heldout_prompts(n=120, base_seed=10_000_000):
    """>= n prompts whose (shape,color,motion) combination or template never occurs in training."""
    out = []
    rng = random.Random(base_seed)
    triples = sorted(HELDOUT_TRIPLES)
    i = 0
    while len(out) < n:
        seed = base_seed + i
        cat = i % 4
        i += 1
        if cat in (0, 1):  # single object, held-out triple, any template
            s, c, m = triples[(i // 4) % len(triples)] if cat == 0 else rng.choice(triples)
            bgs = [b for b in BACKGROUNDS if c in SPEC["allowed_colors_per_background"][b]]
            attrs = {"background": rng.choice(bgs), "objects": [{"shape": s, "color": c, "motion": m}]}
            text, tid = caption(attrs, rng, "any")
            why = "heldout_combination" + ("+heldout_template" if tid in HELDOUT_TEMPLATES else "")
        elif cat == 2:  # single object, training triple, held-out template
            attrs = sample_attributes(rng, n_objects=1)
            text, tid = caption(attrs, rng, "heldout_template")
            why = "heldout_template"
        else:  # two objects: one held-out triple, or held-out template
            attrs = sample_attributes(rng, n_objects=2)
            if rng.random() < 0.5:
                s, c, m = rng.choice(triples)
                other = attrs["objects"][1]
                bgs = [b for b in BACKGROUNDS if c in SPEC["allowed_colors_per_background"][b]
                       and other["color"] in SPEC["allowed_colors_per_background"][b]]
                if c == other["color"] or not bgs:
                    continue
                attrs = {"background": rng.choice(bgs), "objects": [{"shape": s, "color": c, "motion": m}, other]}
                text, tid = caption(attrs, rng, "any")
                why = "heldout_combination"
            else:
                text, tid = caption(attrs, rng, "heldout_template")
                why = "heldout_template"
        out.append({"prompt": text, "attributes": attrs, "seed": seed, "template": tid, "heldout": why})
    return out


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--write-heldout", default=None)
    ap.add_argument("--demo", default=None, help="write a PNG frame strip of a few training clips")
    a = ap.parse_args()
    if a.write_heldout:
        with open(a.write_heldout, "w") as f:
            for p in heldout_prompts():
                f.write(json.dumps(p) + "\n")
    for s in range(8):
        c = make_clip(s)
        print(c["caption"], "|", c["attributes"])
    if a.demo:
        from PIL import Image
        clips = [make_clip(s) for s in range(6)]
        v = render_batch(clips, 9, 64, 64)
        v = ((v.clamp(-1, 1) + 1) * 127.5).round().byte()  # B,3,F,H,W
        rows = [torch.cat([v[b, :, f] for f in range(0, 9, 2)], dim=2) for b in range(len(clips))]
        grid = torch.cat(rows, dim=1).permute(1, 2, 0).numpy()
        Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST).save(a.demo)
