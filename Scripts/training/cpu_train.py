"""Train the embedded 'shapes' pipeline on a CPU, in resumable chunks under a wall-clock budget.

  nice -n 19 python Scripts/training/cpu_train.py --hours 2.3            # start (from the committed weights)
  nice -n 19 python Scripts/training/cpu_train.py --hours 2.3 --resume   # go on where the last chunk stopped
  python Scripts/training/cpu_train.py --snapshot /tmp/snap                # export the checkpoint now, even mid-chunk
  python Scripts/training/cpu_train.py --save-warm-vae                     # commit-able VAE a new machine goes on from

The phases run in order, each until its step target: `vae` (--vae-steps), `pools` (latents of
rendered clips, --pool-clips), `dit` (--dit-steps), `export` (a diffusers-layout pipeline folder in
CKPT/pipeline, float16, ready for `bottleneck --pipeline`). A chunk stops at its budget after
writing a checkpoint; the next one (`--resume`) carries on inside the same phase. The checkpoint
directory is $BOTTLENECK_TRAIN_DIR, default ~/.cache/bottleneck/train: outside the work tree, never
committed. It holds state.json (phase, steps, data position, histories), vae.pt / dit.pt (weights,
EMA, optimiser, RNG states) and pools.pt.
Without --resume the run starts from the committed pipeline (--base, default pipelines/shapes), or from
the committed warm start (Scripts/training/warmstart) when it is further than that pipeline; the VAE
phase from the warm-start VAE when there is one:
its VAE weights carry over whatever --vae-groups is (GroupNorm affine weights are per channel),
and its transformer carries over when its config is the CPU config. A committed pipeline that this trainer made
(its training.json names it) is continued: its step counts, histories and configs carry over, and
the VAE is not retrained once a transformer has been trained on its latents.

Precision (float32 or bfloat16 autocast) is chosen per phase by timing a few steps of each at
start-up: on CPUs with AVX-512 BF16 bf16 is faster, on AVX2-only ones it is ~12x slower
(../shared/reference/machine.md). --precision forces one.
"""
import argparse
import copy
import json
import math
import os
import random
import signal
import shutil
import sys
import time

import torch
import torch.nn.functional as Fn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import world  # noqa: E402
from models import DIT_CPU_CONFIG, VAE_CONFIG, make_dit, make_vae, widen_dit, widen_vae  # noqa: E402
from textenc import MiniLMText  # noqa: E402

T0 = time.time()
# A VAE from an earlier CPU run, committed so a new machine does not start the VAE over
# (--save-warm-vae writes it; float16 EMA weights + warmstart.json with its step and evaluations).
WARM = os.path.join(HERE, "warmstart")  # committed: where a run on a new machine starts
WARM_VAE, WARM_DIT = os.path.join(WARM, "vae"), os.path.join(WARM, "transformer")
PHASES = ["vae", "pools", "dit", "export", "done"]

# VAE buckets (frames, px, batch, source): "full" renders px x px; "crop" renders at 128 px and cuts
# a random px x px window, so objects appear at the 128-px scale the user sees at 64-px cost.
# One-frame crops (from step 2611 on) teach colour and shape, which are spatial, at a ninth of the cost.
VAE_BUCKETS = [(9, 64, 8, "full"), (9, 64, 8, "crop"), (17, 64, 4, "crop"), (9, 128, 2, "full"), (1, 64, 32, "crop")]
# DiT buckets (frames, px, batch, weight): batches of about 4-5 k image tokens. 33 frames carry most
# of the samples (cheap); 129 frames teach the long clips the defaults generate. From step 16682 on
# the 128-px buckets carry 65 % of the steps (40 % before): at 64 px an object spans 2-3 latent
# cells, too few to learn its shape, and the defaults' first and last stages run at 128 px.
DIT_BUCKETS = [(33, 64, 32, 0.25), (33, 128, 8, 0.40), (129, 64, 8, 0.10), (129, 128, 2, 0.25)]
# Share of --pool-clips per DiT bucket (encoding a 129 x 128 clip costs 16x a 33 x 64 one).
POOL_SHARE = {(33, 64): 0.40, (33, 128): 0.38, (129, 64): 0.08, (129, 128): 0.14}
CAPTIONS_PER_CLIP = 4  # paraphrases drawn from the world's synonyms and word orders
TEXT_DROPOUT = 0.1  # share of transformer draws with the empty prompt (classifier-free guidance)


def now():
    return time.time() - T0


def log(*a):
    print(f"[{now():7.1f}s]", *a, flush=True)


def atomic_save(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def atomic_json(obj, path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def cos_lr(base, step, warm, total, floor=0.1, start=0):
    """Cosine decay over [0, total] with a linear warm-up of `warm` steps from `start`, the step at
    which the optimiser's state began (a run continued from committed weights has none)."""
    w = min(1.0, (step - start + 1) / warm)
    frac = min(1.0, step / max(1, total))
    return base * w * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * frac)))


def rng_state():
    return {"torch": torch.get_rng_state(), "python": random.getstate()}


def set_rng_state(s):
    torch.set_rng_state(s["torch"]); random.setstate(s["python"])


def pick_precision(forced, step_fn):
    """Times two steps in float32 and in bf16 autocast (after one warm-up each); returns the faster.
    A bf16 warm-up over 4x the float32 step ends the probe: it cannot win, and on AVX2-only CPUs
    (~12x slower) timing two more steps would cost minutes at every chunk's start."""
    if forced != "auto":
        return forced == "bf16"
    times = {}
    for bf16 in (False, True):
        t = time.time(); step_fn(bf16)
        times[bf16] = time.time() - t
        if bf16 and times[bf16] > 4 * times[False]:
            break
        t = time.time(); step_fn(bf16); step_fn(bf16)
        times[bf16] = (time.time() - t) / 2
    log(f"precision probe: float32 {times[False]:.2f} s/step, bf16 autocast {times[True]:.2f} s/step")
    return times[True] < times[False]


class CoreShare:
    """Gives up a core while other processes use it. A nice-19 trainer whose two threads share a
    core with a build runs ~5x slower than on one core alone (each parallel region waits for the
    starved thread), so every few steps the cores used by others (from /proc/stat, less this
    process's own CPU time) set the thread count: the free cores, at least one."""
    def __init__(self, max_threads):
        self.max = self.threads = max_threads
        self.hz = os.sysconf("SC_CLK_TCK")
        self.last = self.sample()

    def sample(self):
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        busy = (sum(v) - v[3] - v[4]) / self.hz  # all but idle and iowait
        t = os.times()
        return time.time(), busy, t.user + t.system

    def update(self):
        now = self.sample()
        dt = now[0] - self.last[0]
        if dt < 5:
            return
        others = ((now[1] - self.last[1]) - (now[2] - self.last[2])) / dt
        self.last = now
        threads = max(1, min(self.max, round(self.max - others + 0.2)))
        if threads != self.threads:
            self.threads = threads
            torch.set_num_threads(threads)
            log(f"other processes use {others:.1f} cores: {threads} thread(s)")


def ema_update(ema, model, decay):
    with torch.no_grad():
        torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1 - decay)


# ----------------------------------------------------------------------------- data

def render(clips, F, px, source, gen):
    """[B, 3, F, px, px] in [-1, 1], and the per-clip background colour [B, 3, 1, 1, 1]."""
    if source == "crop":
        x = world.render_batch(clips, F, 128, 128)
        i, j = (int(v) for v in torch.randint(0, 128 - px + 1, (2,), generator=gen))
        x = x[..., i:i + px, j:j + px]
    else:
        x = world.render_batch(clips, F, px, px)
    bg = torch.tensor([world.BACKGROUNDS[c["attributes"]["background"]] for c in clips], dtype=torch.float32)
    return x.contiguous(), (bg / 127.5 - 1).view(-1, 3, 1, 1, 1)


def object_mask(x, bg):
    """[B, 1, F, H, W]: 1 where the pixel differs from the background (objects and their
    anti-aliased edges, a few % of the pixels), else 0."""
    return ((x - bg).abs().amax(dim=1, keepdim=True) > 0.02).float()


def patch_colour_loss(rec, x, mask, patch=8):
    """L1 between the mean colours of `patch` x `patch` pixel patches of the reconstruction and the
    clip: over all patches (the background's absolute colour, which the clip-wide GroupNorms make
    hard to keep) plus over object patches, weighted by their share of object pixels (small
    objects' colour, which plain pixel losses learn last: the decoder first paints every object in
    the palette's average colour). A direct, low-noise signal for both."""
    k = (1, patch, patch)
    share = Fn.avg_pool3d(mask, k)
    d = (Fn.avg_pool3d(rec, k) - Fn.avg_pool3d(x, k)).abs().mean(dim=1, keepdim=True)
    return d.mean() + (share * d).sum() / share.sum().clamp(min=1.0)


def latent_background(x0):
    """[B, C, F, 1, 1]: each frame's median latent of scaled latents x0 [B, C, F, h, w], which is the
    flat background's (objects cover a few % of a frame)."""
    return x0.flatten(3).median(dim=3).values[..., None, None]


def latent_object_weight(x0, weight, scale=2.0):
    """[B, 1, F, h, w] flow-loss weights of scaled latents x0 [B, C, F, h, w] (std about 1): 1 on the
    background, rising to `weight` where a latent pixel is at least `scale` away from its frame's
    median (the flat background's latent). Objects cover a few % of a frame, so an unweighted loss
    learns backgrounds first and objects' colour, shape and motion last, as the VAE's pixel loss did."""
    d = (x0 - latent_background(x0)).norm(dim=1, keepdim=True)
    return 1 + (weight - 1) * (d / scale).clamp(max=1)


def heldout_renders(n, frames, px):
    """Ground truth of held-out prompts 0..n-1, [n, 3, frames, px, px], and its object mask."""
    held = heldout_lines()[:n]
    x = world.render_batch([world.clip_from_attributes(h["attributes"], h["seed"]) for h in held], frames, px, px)
    return x, object_mask(x, x[:, :, :1, :1, :1])


def background_object_error(rec, x, mask):
    """Mean absolute error (0-255) of a reconstruction on background pixels and on object pixels."""
    d = (rec - x).abs()
    return (((d * (1 - mask)).sum() / (3 * (1 - mask).sum())).item() * 127.5,
            ((d * mask).sum() / (3 * mask.sum())).item() * 127.5)


def vae_encode_mean(vae, x):
    """Whole-clip encode (no temporal tiling) -> posterior mean, log-variance."""
    mean, logvar = vae.quant_conv(vae.encoder(x)).chunk(2, dim=1)
    return mean, logvar.clamp(-30.0, 20.0)


# ----------------------------------------------------------------------------- phases

class Trainer:
    def __init__(self, a):
        self.a = a
        self.dir = a.dir
        os.makedirs(self.dir, exist_ok=True)
        self.state_path = os.path.join(self.dir, "state.json")
        if a.resume:
            if not os.path.exists(self.state_path):
                sys.exit(f"--resume: no checkpoint in {self.dir} (state.json missing); run without --resume to start")
            with open(self.state_path) as f:
                self.s = json.load(f)
            if a.redo_vae:
                self.redo_vae()
            elif self.s["phase"] in ("export", "done") and self.s["dit"]["step"] < a.dit_steps:
                self.s["phase"] = "dit"  # a larger --dit-steps continues the transformer
            if a.dit_heads and a.dit_heads != self.s["dit_config"]["num_attention_heads"]:
                self.widen_dit(a.dit_heads)
        else:
            if os.path.exists(self.state_path) and not a.restart:
                sys.exit(f"{self.dir} already holds a run (state.json); use --resume to continue it or --restart to discard it")
            for f in os.listdir(self.dir):
                p = os.path.join(self.dir, f)
                shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
            self.s = {"phase": "vae", "vae": {"step": 0, "history": [], "eval": []},
                      "dit": {"step": 0, "samples": 0, "history": [], "eval": []},
                      "seed": a.seed * 1_000_003, "cpu_seconds": {}, "chunks": [],
                      "vae_config": dict(VAE_CONFIG, norm_num_groups=a.vae_groups), "dit_config": DIT_CPU_CONFIG}
            self.inherit(os.path.join(a.base, "training.json"))
            if not a.vae_scratch and os.path.exists(os.path.join(WARM_VAE, "warmstart.json")) and self.warm_start_is_ahead():
                self.warm_start()
            torch.manual_seed(a.seed); random.seed(a.seed)
        self.set_trajectories(a.trajectories)
        self.deadline = T0 + a.hours * 3600
        if a.snapshot or a.save_warm_start:
            return  # reads the checkpoint, writes nothing of it
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.stop_soon)
        self.s["chunks"].append({"started": time.strftime("%Y-%m-%d %H:%M:%S"), "hours": a.hours,
                                 "threads": torch.get_num_threads(), "phase": self.s["phase"],
                                 "args": {k: v for k, v in vars(a).items() if k not in ("resume", "restart", "dir", "base")}})

    def redo_vae(self):
        """Back to the VAE phase (up to a larger --vae-steps): the latents move, so the pools are
        rebuilt after it, and the transformer continues from its weights on the new latents. With
        --vae-decoder-only the encoder is frozen, so the latents, pools and transformer stay valid."""
        st = self.s["vae"]
        if st["step"] >= self.a.vae_steps:
            sys.exit(f"--redo-vae: the VAE is at step {st['step']}; give a larger --vae-steps")
        if self.a.vae_decoder_only:
            self.freeze_encoder()
            return
        st.pop("encoder_step", None); st.pop("decoder_only", None)
        for name in ("pools.pt", "pipeline"):
            p = self.path(name)
            shutil.rmtree(p) if os.path.isdir(p) else (os.remove(p) if os.path.exists(p) else None)
        self.s["phase"] = "vae"
        self.s.pop("scaling_factor", None)  # measured anew on the new latents
        if self.a.vae_channels and tuple(self.a.vae_channels) != tuple(self.s["vae_config"]["block_out_channels"]):
            self.widen_vae(self.a.vae_channels)
        log(f"VAE phase again from step {self.s['vae']['step']}; pools rebuilt after it")

    def freeze_encoder(self):
        """Decoder-only VAE steps: the encoder that made the pools (the EMA's) is copied into the
        trained weights and frozen in both, the pools and the scaling factor are kept, and the
        optimiser starts afresh over the decoder alone."""
        st = self.s["vae"]
        if "scaling_factor" not in self.s or not os.path.exists(self.path("pools.pt")):
            sys.exit("--vae-decoder-only: no pools in the checkpoint yet (their latents are what the encoder keeps); build them first")
        ck = self.path("vae.pt")
        if os.path.exists(ck):
            c = torch.load(ck, map_location="cpu", weights_only=False)
            frozen = {k: v for k, v in c["ema"].items() if not k.startswith(("decoder.", "post_quant_conv."))}
            atomic_save(dict(c, model=dict(c["model"], **frozen), opt=None), ck)
        st.setdefault("encoder_step", st["step"])
        st["decoder_only"] = True
        shutil.rmtree(self.path("pipeline"), ignore_errors=True)
        self.s["phase"] = "vae"
        log(f"VAE decoder-only phase from step {st['step']} (encoder of step {st['encoder_step']} frozen; pools kept)")

    def widen_vae(self, channels):
        """Weights and EMA widened to `channels` computing the same function (models.widen_vae);
        the optimiser starts afresh (its moments have the old shapes)."""
        ck = self.path("vae.pt")
        if not os.path.exists(ck):
            sys.exit(f"--vae-channels: no VAE checkpoint in {self.dir} to widen")
        c = torch.load(ck, map_location="cpu", weights_only=False)
        widened = {}
        for key in ("model", "ema"):
            vae = make_vae(self.s["vae_config"]); vae.load_state_dict(c[key])
            try:
                widened[key] = widen_vae(vae, channels, torch.Generator().manual_seed(self.s["vae"]["step"])).state_dict()
            except ValueError as e:
                sys.exit(f"--vae-channels: {e}")
        atomic_save(dict(c, model=widened["model"], ema=widened["ema"], opt=None), ck)
        self.s["vae_config"] = dict(self.s["vae_config"], block_out_channels=list(channels))
        self.s["vae"].setdefault("widened", []).append({"step": self.s["vae"]["step"], "block_out_channels": list(channels)})
        self.save_state()
        log(f"VAE widened to block_out_channels {list(channels)} at step {self.s['vae']['step']} (same function, fresh optimiser)")

    def widen_dit(self, heads):
        """The transformer (weights and EMA; the committed one while no dit.pt exists) widened to
        `heads` heads computing the same function (models.widen_dit); the optimiser starts afresh
        (its moments have the old shapes), so the learning rate warms up again from this step."""
        ck = self.path("dit.pt")
        if os.path.exists(ck):
            c = torch.load(ck, map_location="cpu", weights_only=False)
        elif os.path.exists(self.path("pools.pt")):  # pools built, no transformer step taken yet
            dit = make_dit(self.s["dit_config"])
            self.maybe_load_committed_dit(dit, self.committed_dit())
            c = {"model": dit.state_dict(), "ema": dit.state_dict(), "rng": rng_state(), "gen": None}
        else:
            sys.exit(f"--dit-heads: no transformer in {self.dir} to widen yet (build the pools first: --until pools)")
        widened, losses = {}, []
        ev = torch.load(self.path("pools.pt"), map_location="cpu", weights_only=False)["heldout_eval"]
        for key in ("model", "ema"):
            dit = make_dit(self.s["dit_config"]); dit.load_state_dict(c[key])
            try:
                wide = widen_dit(dit, heads, torch.Generator().manual_seed(self.s["dit"]["step"]))
            except ValueError as e:
                sys.exit(f"--dit-heads: {e}")
            widened[key] = wide.state_dict()
            if key == "ema":  # the copies' 1 % noise aside, the held-out loss must not move
                with torch.no_grad():
                    losses = [eval_flow_loss(dit, ev), eval_flow_loss(wide, ev)]
        atomic_save(dict(c, model=widened["model"], ema=widened["ema"], opt=None), ck)
        self.s["dit_config"] = dict(self.s["dit_config"], num_attention_heads=heads)
        self.s["dit"].setdefault("widened", []).append({"step": self.s["dit"]["step"], "num_attention_heads": heads})
        if self.s["phase"] in ("export", "done"):
            self.s["phase"] = "dit"
        self.save_state()
        log(f"transformer widened to {heads} heads at step {self.s['dit']['step']} (same function, fresh optimiser); "
            f"held-out flow loss (EMA) before {losses[0]}, after {losses[1]}")

    def set_trajectories(self, asked):
        """The world the pools are rendered from (world.motion_params: `varied` draws start, speed,
        size and phase from each clip's seed, `canonical` fixes them by the attributes). It stays with
        the run and its warm start, and changes only while no pools exist: pools, held-out loss set
        and the transformer trained on them are of one world."""
        have = self.s.get("trajectories", "varied")
        if asked and asked != have:
            if os.path.exists(self.path("pools.pt")):
                sys.exit(f"--trajectories {asked}: the pools in {self.dir} are of {have} trajectories; "
                         f"start another run (BOTTLENECK_TRAIN_DIR) for the other world")
            self.s["trajectories"] = have = asked
        self.canonical = have == "canonical"

    def inherit(self, path):
        """A committed pipeline made by this trainer is a checkpoint without optimiser state: its
        step counts, histories and configs carry over, so phases already done are not redone (a
        retrained VAE would move the latent space under the committed transformer) and the plots
        go on. Pipelines made otherwise (the GPU run) start the counts at zero."""
        if not os.path.exists(path):
            return
        with open(path) as f:
            t = json.load(f)
        if not t.get("trainer", "").startswith("Scripts/training/cpu_train.py"):
            return
        v, d = t["vae"], t["transformer"]
        self.s["vae"] = {"step": v["steps"], "history": v.get("history", []), "eval": v["eval"]}
        self.s["dit"] = {"step": d["steps"], "samples": d["samples"], "history": d.get("history", []), "eval": d["eval"]}
        self.s.update(cpu_seconds=t["cpu_seconds"], chunks=t["chunks"], vae_config=v["config"],
                      dit_config=d["config"], scaling_factor=v["scaling_factor"], inherited_from=path)
        if d["steps"] > 0:
            self.s["phase"] = "pools"  # retraining the VAE would move the latents under the transformer
        log(f"continuing the committed run: VAE step {v['steps']}, DiT step {d['steps']} ({d['samples']} samples)")

    def warm_start_is_ahead(self):
        """Whether the committed warm start is further than the committed pipeline inherited: when
        nothing was inherited, or when its transformer has more steps (the warm start moves on
        between the pipelines that ship)."""
        if self.s["vae"]["step"] == 0:
            return True
        path = os.path.join(WARM_DIT, "warmstart.json")
        if not os.path.exists(path):
            return False
        with open(path) as f:
            return json.load(f)["step"] > self.s["dit"]["step"]

    def warm_start(self):
        """A run without a checkpoint goes on from the committed warm start: the VAE (its step
        count, evaluations and config), and the transformer when one was trained on that VAE's
        latents (its counts, evaluations and scaling factor; the pools are rebuilt with that
        scaling, and the VAE is not retrained under it, as with an inherited pipeline)."""
        with open(os.path.join(WARM_VAE, "warmstart.json")) as f:
            w = json.load(f)
        self.s["vae"] = {"step": w["step"], "history": [], "eval": w["eval"]}
        if w.get("encoder_step", w["step"]) != w["step"]:  # decoder-only steps since the encoder's
            self.s["vae"].update(encoder_step=w["encoder_step"], decoder_only=True)
        self.s["vae_config"] = w["vae_config"]
        self.s["cpu_seconds"]["vae"] = w["cpu_seconds"]
        self.s["warm_vae"] = os.path.relpath(WARM_VAE, ROOT)
        log(f"VAE starts from the committed warm start {self.s['warm_vae']} (step {w['step']})")
        path = os.path.join(WARM_DIT, "warmstart.json")
        if not os.path.exists(path):
            return
        with open(path) as f:
            d = json.load(f)
        if d.get("encoder_step", d["vae_step"]) != w.get("encoder_step", w["step"]):  # the latents it was trained on moved
            log(f"{path}: trained on the latents of VAE step {d['vae_step']}; the transformer starts afresh")
            return
        self.s["dit"] = {"step": d["step"], "samples": d["samples"], "history": [], "eval": d["eval"],
                         "widened": d.get("widened", [])}
        self.s["dit_config"] = d["dit_config"]  # the committed transformer's (a widened one has more heads)
        self.s["cpu_seconds"]["dit"] = d["cpu_seconds"]
        self.s.update(scaling_factor=d["scaling_factor"], warm_dit=os.path.relpath(WARM_DIT, ROOT), phase="pools",
                      trajectories=d.get("trajectories", "varied"))
        log(f"transformer starts from the committed warm start {self.s['warm_dit']} (step {d['step']}, "
            f"{self.s['trajectories']} trajectories)")

    def save_warm_start(self):
        """Writes the checkpoint's VAE and, once pools and a transformer exist, its transformer (EMA,
        float16, with steps, evaluations and the scaling factor) to WARM, replacing it whole."""
        tmp = WARM + ".partial"
        shutil.rmtree(tmp, ignore_errors=True)
        made = f"Scripts/training/cpu_train.py --save-warm-start, {time.strftime('%Y-%m-%d')}, {cpu_name()}"
        vae_dir, dit_dir = os.path.join(tmp, "vae"), os.path.join(tmp, "transformer")
        self.load_vae_ema().half().save_pretrained(vae_dir, safe_serialization=True)
        st = self.s["vae"]
        atomic_json({"step": st["step"], "encoder_step": st.get("encoder_step", st["step"]), "eval": st["eval"],
                     "vae_config": self.s["vae_config"],
                     "cpu_seconds": round(self.s["cpu_seconds"].get("vae", 0.0), 1), "made": made},
                    os.path.join(vae_dir, "warmstart.json"))
        said = f"VAE step {st['step']}"
        if os.path.exists(self.path("pools.pt")) and os.path.exists(self.path("dit.pt")):
            pools = torch.load(self.path("pools.pt"), map_location="cpu", weights_only=False)
            dit = make_dit(self.s["dit_config"])
            dit.load_state_dict(torch.load(self.path("dit.pt"), map_location="cpu", weights_only=False)["ema"])
            dit.half().save_pretrained(dit_dir, safe_serialization=True)
            d = self.s["dit"]
            atomic_json({"step": d["step"], "samples": d["samples"], "eval": d["eval"], "dit_config": self.s["dit_config"],
                         "widened": d.get("widened", []),
                         "cpu_seconds": round(self.s["cpu_seconds"].get("dit", 0.0), 1), "vae_step": st["step"],
                         "encoder_step": st.get("encoder_step", st["step"]),
                         "trajectories": self.s.get("trajectories", "varied"),
                         "scaling_factor": pools["scaling_factor"], "made": made},
                        os.path.join(dit_dir, "warmstart.json"))
            said += f", transformer step {d['step']}"
        shutil.rmtree(WARM, ignore_errors=True)
        os.replace(tmp, WARM)
        log(f"wrote {WARM} ({said})")

    # -- bookkeeping
    def next_seeds(self, n):
        s = list(range(self.s["seed"], self.s["seed"] + n)); self.s["seed"] += n
        return s

    def left(self):
        return self.deadline - time.time()

    def stop_soon(self, signum, _frame):
        """SIGTERM or Ctrl-C ends the chunk as its budget would: after the current step, with a
        checkpoint, so stopping a chunk early loses nothing (a kill -9 loses up to --checkpoint-minutes)."""
        self.deadline = min(self.deadline, time.time())
        log(f"signal {signum}: stopping after a checkpoint")

    def add_seconds(self, phase, t):
        self.s["cpu_seconds"][phase] = self.s["cpu_seconds"].get(phase, 0.0) + t

    def save_state(self):
        atomic_json(self.s, self.state_path)

    def path(self, name):
        return os.path.join(self.dir, name)

    def run(self):
        while self.s["phase"] != "done" and self.left() > 60:
            phase = self.s["phase"]
            if PHASES.index(phase) > PHASES.index(self.a.until):
                break
            finished = getattr(self, "phase_" + phase)()
            if not finished:
                break
            self.s["phase"] = PHASES[PHASES.index(phase) + 1]
            self.save_state()
            log(f"phase {phase} done")
        self.save_state()
        log(f"stopped in phase {self.s['phase']}")

    # -- VAE
    def load_vae(self):
        cfg = self.s["vae_config"]
        vae = make_vae(cfg)
        ck = self.path("vae.pt")
        if os.path.exists(ck):
            c = torch.load(ck, map_location="cpu", weights_only=False)
            vae.load_state_dict(c["model"]); return vae, c
        from safetensors.torch import load_file
        src = self.committed_vae()
        if os.path.exists(src) and not self.a.vae_scratch:
            vae.load_state_dict({k: v.float() for k, v in load_file(src).items()})
            log(f"VAE starts from {src}")
        return vae, None

    def phase_vae(self):
        a = self.a
        st = self.s["vae"]
        if st["step"] >= a.vae_steps:
            return True
        vae, c = self.load_vae()
        ema = copy.deepcopy(vae).requires_grad_(False)
        decoder_only = st.get("decoder_only", False)
        if decoder_only:
            vae.encoder.requires_grad_(False); vae.quant_conv.requires_grad_(False)
        if a.vae_latent_noise and "scaling_factor" not in self.s:
            sys.exit(f"--vae-latent-noise: {self.state_path} has no scaling factor yet (it is measured with the pools); "
                     "build the pools first")
        # latent noise in the transformer's (scaled) units, as std of the unscaled latents
        noise = a.vae_latent_noise / self.s["scaling_factor"] if a.vae_latent_noise else 0.0
        opt = torch.optim.AdamW([p for p in vae.parameters() if p.requires_grad], lr=a.vae_lr, betas=(0.9, 0.99), weight_decay=0.0)
        if c is not None:
            ema.load_state_dict(c["ema"]); set_rng_state(c["rng"])
        if c is not None and c["opt"] is not None:
            opt.load_state_dict(c["opt"])
        else:  # a fresh start, or just widened: the learning rate warms up again from here
            st["opt_from"] = st["step"]
        gen = torch.Generator().manual_seed(a.seed + st["step"])
        if c is not None:
            gen.set_state(c["gen"])

        def step_fn(bf16, update=True):
            F, px, bs, source = VAE_BUCKETS[int(torch.randint(len(VAE_BUCKETS), (1,), generator=gen))]
            clips = [world.make_clip(s) for s in self.next_seeds(bs)]
            x, bg = render(clips, F, px, source, gen)
            mask = object_mask(x, bg)
            w = 1 + (a.object_weight - 1) * mask  # so small objects are not drowned by the background
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                with torch.set_grad_enabled(not decoder_only):
                    mean, logvar = vae_encode_mean(vae, x)
                z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean) + noise * torch.randn_like(mean)
                rec = vae.decoder(vae.post_quant_conv(z))
            rec = rec.float(); d = rec - x
            l1 = (w * d.abs()).mean() / w.mean(); l2 = (w * d * d).mean() / w.mean()
            kl = 0.5 * (mean.float() ** 2 + logvar.float().exp() - 1 - logvar.float()).mean()
            loss = l1 + l2 + a.colour_weight * patch_colour_loss(rec, x, mask) + 1e-6 * kl
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
            if update:
                opt.step()
            return F, px, source, l1.item(), l2.item()

        seed_before = self.s["seed"]
        bf16 = pick_precision(a.precision, lambda b: step_fn(b, update=False))
        self.s["seed"] = seed_before  # the probe's clips are drawn again for real
        log(f"VAE phase from step {st['step']} to {a.vae_steps}, {'bf16 autocast' if bf16 else 'float32'}"
            + (", decoder only" if decoder_only else "") + (f", latent noise {a.vae_latent_noise} (scaled units)" if noise else ""))
        share = CoreShare(a.threads)
        t_phase = time.time(); last_ck = time.time(); acc = []
        while st["step"] < a.vae_steps and self.left() > 120:
            for g in opt.param_groups:
                g["lr"] = cos_lr(a.vae_lr, st["step"], 100, a.vae_steps, start=st.get("opt_from", 0))
            F, px, source, l1, l2 = step_fn(bf16)
            share.update()
            ema_update(ema, vae, min(0.999, (1 + st["step"]) / (10 + st["step"])))
            st["step"] += 1; acc.append((l1, l2))
            if st["step"] % 25 == 0:
                m1 = sum(v[0] for v in acc) / len(acc); m2 = sum(v[1] for v in acc) / len(acc); acc = []
                st["history"].append({"step": st["step"], "cpu_s": round(self.s["cpu_seconds"].get("vae", 0) + time.time() - t_phase, 1),
                                      "l1w": m1, "l2w": m2})
                if st["step"] % 100 == 0:
                    log(f"vae step {st['step']} weighted l1 {m1:.4f} l2 {m2:.5f}")
            if time.time() - last_ck > a.checkpoint_minutes * 60:
                self.checkpoint_vae(vae, ema, opt, gen, t_phase); t_phase = time.time(); last_ck = time.time()
        self.checkpoint_vae(vae, ema, opt, gen, t_phase)
        return st["step"] >= a.vae_steps

    def checkpoint_vae(self, vae, ema, opt, gen, t_phase):
        self.add_seconds("vae", time.time() - t_phase)
        ev = self.eval_vae(ema)
        ev.update(step=self.s["vae"]["step"], cpu_s=round(self.s["cpu_seconds"]["vae"], 1))
        self.s["vae"]["eval"].append(ev)
        log("VAE held-out (EMA)", ev)
        atomic_save({"model": vae.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                     "rng": rng_state(), "gen": gen.get_state()}, self.path("vae.pt"))
        self.save_state()

    @torch.no_grad()
    def eval_vae(self, vae, n=8):
        """Reconstruction of held-out ground truth at 33 frames x 128 px: L1 over all pixels and
        over object pixels only (where colour and shape live)."""
        held = heldout_lines()[:n]
        x = world.render_batch([world.clip_from_attributes(h["attributes"], h["seed"]) for h in held], 33, 128, 128)
        bg = torch.tensor([world.BACKGROUNDS[h["attributes"]["background"]] for h in held], dtype=torch.float32)
        mask = object_mask(x, (bg / 127.5 - 1).view(-1, 3, 1, 1, 1))
        l1all = l1obj = 0.0
        for i in range(n):
            mean, _ = vae_encode_mean(vae, x[i:i + 1])
            d = (vae.decoder(vae.post_quant_conv(mean)).clamp(-1, 1) - x[i:i + 1]).abs()
            l1all += d.mean().item() / n
            l1obj += ((d * mask[i:i + 1]).sum() / (3 * mask[i:i + 1].sum())).item() / n
        return {"l1": round(l1all, 5), "l1_objects": round(l1obj, 5)}

    # -- latent pools
    def phase_pools(self):
        a = self.a
        ema = self.load_vae_ema()
        pp = self.path("pools.pt")
        pools = torch.load(pp, map_location="cpu", weights_only=False) if os.path.exists(pp) else None
        if pools is None:
            # scaling factor = 1 / std of the posterior means (Docs/training.md), from 64 clips
            with torch.no_grad():
                ms = []
                for (F, px) in [(33, 64), (33, 128)]:
                    clips = [world.make_clip(s, canonical=self.canonical) for s in self.next_seeds(32)]
                    ms.append(vae_encode_mean(ema, world.render_batch(clips, F, px, px))[0].flatten())
                allm = torch.cat(ms)
            # a VAE continued from a committed run keeps the scaling its transformer was trained with
            sf = self.s.get("scaling_factor") if not os.path.exists(self.path("vae.pt")) else None
            pools = {"scaling_factor": sf or 1.0 / allm.std().item(), "latent_mean": allm.mean().item(),
                     "buckets": {k: {"lat": [], "captions": []} for k in POOL_SHARE}}
            log(f"scaling factor {pools['scaling_factor']:.5f} (latent mean {pools['latent_mean']:.4f})")
        sf = pools["scaling_factor"]
        target = {k: max(1, int(a.pool_clips * v)) for k, v in POOL_SHARE.items()}
        def encode(clips, F, px, bf16):
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                return vae_encode_mean(ema, world.render_batch(clips, F, px, px))[0].float()

        probe = [world.make_clip(s) for s in range(4)]
        bf16 = pick_precision(a.precision, lambda b: encode(probe, 33, 64, b))
        t_phase = time.time(); last_ck = time.time()
        while self.left() > 120:
            fill = {k: sum(t.shape[0] for t in pools["buckets"][k]["lat"]) / target[k] for k in target}
            k = min(fill, key=fill.get)
            if fill[k] >= 1.0:
                break
            F, px = k
            n = max(1, min(16, int(1.2e6 // (F * px * px))))
            clips = [world.make_clip(s, canonical=self.canonical) for s in self.next_seeds(n)]
            pools["buckets"][k]["lat"].append((encode(clips, F, px, bf16) * sf).to(torch.bfloat16))
            for c in clips:
                rng = random.Random(c["seed"] * 31 + 5)
                caps = [c["caption"]] + [world.caption(c["attributes"], rng, "train")[0] for _ in range(CAPTIONS_PER_CLIP - 1)]
                pools["buckets"][k]["captions"].append(caps)
            if time.time() - last_ck > a.checkpoint_minutes * 60:
                self.add_seconds("pools", time.time() - t_phase); t_phase = time.time(); last_ck = time.time()
                atomic_save(pools, pp); self.save_state()
                log("pools", {f"{f}x{p}": len(pools['buckets'][(f, p)]['captions']) for (f, p) in target})
        done = all(len(pools["buckets"][k]["captions"]) >= target[k] for k in target)
        if done and "text" not in pools:
            te = MiniLMText(os.path.join(a.base, "text_encoder"), os.path.join(a.base, "tokenizer"))
            caps = sorted({c for k in pools["buckets"] for cs in pools["buckets"][k]["captions"] for c in cs} | {""})
            s_, m_, p_ = te.encode(caps, batch=256)
            pools["text"] = {"captions": caps, "states": s_.half(), "mask": m_.to(torch.int8), "pooled": p_.half()}
            log(f"text: {len(caps)} distinct captions encoded")
            pools["heldout_eval"] = heldout_eval_set(ema, te, sf, self.canonical)
        self.add_seconds("pools", time.time() - t_phase)
        atomic_save(pools, pp)
        log("pools", {f"{f}x{p}": len(pools['buckets'][(f, p)]['captions']) for (f, p) in target})
        return done

    def committed_vae(self):
        """The VAE weights a run without vae.pt uses: the warm start's, else the base pipeline's."""
        folder = os.path.join(ROOT, self.s["warm_vae"]) if "warm_vae" in self.s else os.path.join(self.a.base, "vae")
        return os.path.join(folder, "diffusion_pytorch_model.safetensors")

    def committed_dit(self):
        """The transformer folder a run without dit.pt starts from: the warm start's, else the base pipeline's."""
        return os.path.join(ROOT, self.s["warm_dit"]) if "warm_dit" in self.s else os.path.join(self.a.base, "transformer")

    def load_vae_ema(self):
        vae = make_vae(self.s["vae_config"])
        ck = self.path("vae.pt")
        if os.path.exists(ck):
            vae.load_state_dict(torch.load(ck, map_location="cpu", weights_only=False)["ema"])
        else:  # no VAE steps in this run (a warm start with its transformer, or --vae-steps 0): as committed
            from safetensors.torch import load_file
            vae.load_state_dict({k: v.float() for k, v in load_file(self.committed_vae()).items()})
        return vae.eval().requires_grad_(False)

    # -- DiT
    def phase_dit(self):
        a = self.a
        st = self.s["dit"]
        if st["step"] >= a.dit_steps:
            return True
        pools = torch.load(self.path("pools.pt"), map_location="cpu", weights_only=False)
        text = pools["text"]
        cap_index = {c: i for i, c in enumerate(text["captions"])}
        buckets = []
        for (F, px, bs, w) in DIT_BUCKETS:
            w = a.dit_bucket_weights.get(f"{F}x{px}", 0.0) if a.dit_bucket_weights else w
            b = pools["buckets"][(F, px)]
            lat = torch.cat(b["lat"])
            caps = torch.tensor([[cap_index[c] for c in cs] for cs in b["captions"]])
            buckets.append((F, px, bs, w, lat, caps))
        weights = torch.tensor([b[3] for b in buckets])
        u = cap_index[""]
        dit = make_dit(self.s["dit_config"])
        ck = self.path("dit.pt")
        c = torch.load(ck, map_location="cpu", weights_only=False) if os.path.exists(ck) else None
        if c is not None:
            dit.load_state_dict(c["model"])
        else:
            self.maybe_load_committed_dit(dit, self.committed_dit())
        ema = copy.deepcopy(dit).requires_grad_(False)
        opt = torch.optim.AdamW(dit.parameters(), lr=a.dit_lr, betas=(0.9, 0.99), weight_decay=0.01)
        gen = torch.Generator().manual_seed(a.seed + 1)
        if c is not None:
            ema.load_state_dict(c["ema"]); set_rng_state(c["rng"])
            if c["gen"] is not None:
                gen.set_state(c["gen"])
        if c is not None and c["opt"] is not None:
            opt.load_state_dict(c["opt"])
        else:
            st["opt_from"] = st["step"]  # a fresh optimiser (committed weights, or just widened): warm up again
        ev = pools["heldout_eval"]
        if not any(e["F"] == 129 for e in ev):  # pools made before the 129-frame entry: add it, once
            ev.append(heldout_eval_129(self.load_vae_ema(), pools["scaling_factor"], self.canonical, ev[0]))
            atomic_save(pools, self.path("pools.pt"))
            log("held-out eval: 129 x 128 entry added to pools.pt")

        def step_fn(bf16, update=True):
            bi = int(torch.multinomial(weights, 1, generator=gen))
            F, px, bs, _, lat, caps = buckets[bi]
            idx = torch.randint(lat.shape[0], (bs,), generator=gen)
            x0 = lat[idx].float()
            ci = caps[idx, torch.randint(caps.shape[1], (bs,), generator=gen)]
            u_drop = torch.rand(bs, generator=gen)  # classifier-free guidance: the empty prompt, drawn below
            s = torch.sigmoid(torch.randn(bs, generator=gen))  # logit-normal(0, 1), 10 % uniform
            s = torch.where(torch.rand(bs, generator=gen) < 0.1, torch.rand(bs, generator=gen), s)
            k = a.dit_timestep_shift  # the sampler's shift (Docs/training.md, scheduler): toward high noise
            s = (k * s / (1 + (k - 1) * s)).clamp(1e-4, 1.0)
            p1 = a.dit_s1_share[f"{F}x{px}"]
            if p1 > 0:  # pure noise in: the prompt alone must draw the clip (no draw when 0: same stream)
                s = torch.where(torch.rand(bs, generator=gen) < p1, torch.ones_like(s), s)
            # the empty prompt's s = 1 target is the mean clip, long learnt: its draws there are mostly gradient noise
            drop = u_drop < torch.where(s == 1.0, a.dit_s1_text_dropout, TEXT_DROPOUT)
            ci = torch.where(drop, torch.full_like(ci, u), ci)
            states, mask, pooled = text["states"][ci].float(), text["mask"][ci].long(), text["pooled"][ci].float()
            eps = torch.randn(x0.shape, generator=gen)
            sv = s.view(-1, 1, 1, 1, 1)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                pred = dit((1 - sv) * x0 + sv * eps, s * 1000, states, mask, pooled, return_dict=False)[0]
            err = (pred.float() - (eps - x0)) ** 2
            if a.dit_object_weight != 1.0:
                w = latent_object_weight(x0, a.dit_object_weight)
                loss = (w * err).mean() / w.mean()
            else:
                loss = err.mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(dit.parameters(), 1.0)
            if update:
                opt.step()
            return F, px, bs, loss.item()

        gstate = gen.get_state()
        bf16 = pick_precision(a.precision, lambda b: step_fn(b, update=False))
        gen.set_state(gstate)
        log(f"DiT phase from step {st['step']} to {a.dit_steps}, {'bf16 autocast' if bf16 else 'float32'}, "
            f"{sum(p.numel() for p in dit.parameters()) / 1e6:.2f} M parameters")
        share = CoreShare(a.threads)
        t_phase = time.time(); last_ck = time.time(); acc = {}
        while st["step"] < a.dit_steps and self.left() > 120:
            for g in opt.param_groups:
                g["lr"] = cos_lr(a.dit_lr, st["step"], 200, a.dit_steps, start=st.get("opt_from", 0))
            F, px, bs, loss = step_fn(bf16)
            share.update()
            ema_update(ema, dit, min(0.999, (1 + st["step"]) / (10 + st["step"])))
            st["step"] += 1; st["samples"] += bs
            acc.setdefault(f"{F}x{px}", []).append(loss)
            if st["step"] % 100 == 0:
                rec = {k: round(sum(v) / len(v), 5) for k, v in acc.items()}; acc = {}
                st["history"].append({"step": st["step"], "samples": st["samples"],
                                      "cpu_s": round(self.s["cpu_seconds"].get("dit", 0) + time.time() - t_phase, 1), "loss": rec})
                log(f"dit step {st['step']} samples {st['samples']} loss {rec}")
            if time.time() - last_ck > a.checkpoint_minutes * 60:
                self.checkpoint_dit(dit, ema, opt, gen, ev, t_phase); t_phase = time.time(); last_ck = time.time()
        self.checkpoint_dit(dit, ema, opt, gen, ev, t_phase)
        return st["step"] >= a.dit_steps

    def maybe_load_committed_dit(self, dit, tdir):
        from safetensors.torch import load_file
        with open(os.path.join(tdir, "config.json")) as f:
            cfg = json.load(f)
        if any(cfg.get(k) != v and not (isinstance(v, tuple) and cfg.get(k) == list(v)) for k, v in self.s["dit_config"].items()):
            log("committed transformer has another config: the DiT starts from scratch")
            return
        sd = {}
        for f in sorted(os.listdir(tdir)):
            if f.endswith(".safetensors"):
                sd.update({k: v.float() for k, v in load_file(os.path.join(tdir, f)).items()})
        dit.load_state_dict(sd)
        log(f"DiT starts from {tdir}")

    def checkpoint_dit(self, dit, ema, opt, gen, ev, t_phase):
        self.add_seconds("dit", time.time() - t_phase)
        e = eval_flow_loss(ema, ev)
        e.update(prompt_layout_r2(ema, ev))
        e.update(step=self.s["dit"]["step"], samples=self.s["dit"]["samples"], cpu_s=round(self.s["cpu_seconds"]["dit"], 1))
        self.s["dit"]["eval"].append(e)
        log("DiT held-out flow loss (EMA)", e)
        atomic_save({"model": dit.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                     "rng": rng_state(), "gen": gen.get_state()}, self.path("dit.pt"))
        self.save_state()

    # -- export
    def phase_export(self):
        export_pipeline(self)
        return True


def heldout_lines():
    with open(os.path.join(ROOT, "samples", "heldout_prompts.jsonl")) as f:
        return [json.loads(l) for l in f]


@torch.no_grad()
def heldout_eval_set(vae, te, sf, canonical, n=32):
    """Held-out flow-matching loss inputs: the first n held-out clips' latents at 33 x 64, 33 x 128 and
    129 x 128 (what a user gets by default), their prompts, and fixed noise and noise levels, so losses
    compare across chunks."""
    held = heldout_lines()[:n]
    states, mask, pooled = te.encode([h["prompt"] for h in held])
    g = torch.Generator().manual_seed(7)
    out = [heldout_eval_entry(vae, held, sf, canonical, F, px, g, states, mask, pooled) for (F, px) in [(33, 64), (33, 128)]]
    return out + [heldout_eval_129(vae, sf, canonical, out[0])]


def heldout_eval_129(vae, sf, canonical, first):
    """The 129 x 128 entry of heldout_eval_set, with its own noise (seed 8), so pools made before it
    existed get the same entry added (`first`: an existing entry, for the prompts' text)."""
    held = heldout_lines()[:first["x0"].shape[0]]
    return heldout_eval_entry(vae, held, sf, canonical, 129, 128, torch.Generator().manual_seed(8),
                              first["states"], first["mask"], first["pooled"])


def heldout_eval_entry(vae, held, sf, canonical, F, px, g, states, mask, pooled):
    clips = [world.clip_from_attributes(h["attributes"], h["seed"], canonical) for h in held]
    k = 8 if F * px * px <= 33 * 128 * 128 else 1  # clips per encode (memory)
    x0 = torch.cat([vae_encode_mean(vae, world.render_batch(clips[i:i + k], F, px, px))[0] for i in range(0, len(clips), k)]) * sf
    return {"F": F, "px": px, "x0": x0, "eps": torch.randn(x0.shape, generator=g),
            "s": torch.sigmoid(torch.randn(len(clips), generator=g)), "states": states, "mask": mask, "pooled": pooled}


def predict(model, x, t, e, chunk=8):
    """The transformer's velocity for an eval entry's clips, `chunk` clips at a time (129 x 128: 2,112
    tokens a clip)."""
    return torch.cat([model(x[i:i + chunk], t[i:i + chunk], e["states"][i:i + chunk], e["mask"][i:i + chunk],
                            e["pooled"][i:i + chunk], return_dict=False)[0] for i in range(0, x.shape[0], chunk)])


@torch.no_grad()
def eval_flow_loss(model, ev):
    out = {}
    for e in ev:
        s = e["s"].view(-1, 1, 1, 1, 1)
        v = predict(model, (1 - s) * e["x0"] + s * e["eps"], e["s"] * 1000, e)
        out[f"{e['F']}x{e['px']}"] = round(((v - (e["eps"] - e["x0"])) ** 2).mean().item(), 5)
    return out


@torch.no_grad()
def prompt_layout_r2(model, ev):
    """What the prompt alone draws: at s = 1 (pure noise in) the x0 estimate eps - v on the 128-px
    held-out clips' object cells (latent pixels over 1 from their frame's median), as 1 - its squared
    error over their squared distance from the background. Sampling starts from this estimate: near 0 it
    is a blur that the noise breaks into several blobs; with canonical trajectories (one clip per prompt)
    it can reach 1 (Docs/training.md, "One trajectory per motion").
    Second, the same on the cells' deviations from their clip's time average, i.e. the motion: a static
    estimate scores 0 there however well it draws colour and shape (which alone reach about 0.77 on the
    first; Docs/training.md, "Static at s = 1").
    Third, the cosine between those deviations and the truth's: the motion's direction whatever its
    amplitude. The conditional estimate is shrunk toward the mean (amplitude about a quarter of the
    truth's), which caps its r2 at the cosine squared; guidance at 6 restores the amplitude, so it is the
    cosine that sampling sees (Docs/training.md, "The motion's direction").
    -> {"s1_object_r2", "s1_motion_r2", "s1_motion_cos"} for 33 frames, the same with "_129f" for 129."""
    out = {}
    for e in ev:
        if e["px"] != 128:
            continue
        x0, est, d, obj, dev, est_dev = s1_estimate(model, e)
        tail = "" if e["F"] == 33 else f"_{e['F']}f"
        out["s1_object_r2" + tail] = round((1 - (est - x0)[obj].pow(2).mean() / d[obj].pow(2).mean()).item(), 4)
        out["s1_motion_r2" + tail] = round((1 - (est_dev - dev)[obj].pow(2).mean() / dev[obj].pow(2).mean()).item(), 4)
        out["s1_motion_cos" + tail] = round(torch.nn.functional.cosine_similarity(est_dev[obj], dev[obj], dim=0).item(), 4)
    return out


def s1_estimate(model, e):
    """The x0 estimate at s = 1 of an eval entry's clips and what prompt_layout_r2 compares it on:
    -> x0, est [N, C, T, H, W] (scaled latents), d = x0 - its frame's background latent, obj (the
    objects' cells, |d| over 1, expanded over C), dev and est_dev (deviations from the clip's time
    average)."""
    x0 = e["x0"]
    est = e["eps"] - predict(model, e["eps"], torch.full_like(e["s"], 1000.0), e)
    d = x0 - latent_background(x0)
    obj = (d.norm(dim=1, keepdim=True) > 1.0).expand_as(x0)
    return x0, est, d, obj, x0 - x0.mean(2, keepdim=True), est - est.mean(2, keepdim=True)


def export_pipeline(tr, out=None):
    """CKPT/pipeline (or `out`): the base pipeline's text encoder, tokenizer and scheduler, world.py's spec, with
    the trained VAE and transformer (EMA weights, float16) and a training.json summary. Written
    beside and renamed into place, so a failed export leaves the previous one whole."""
    out = out or tr.path("pipeline"); tmp = out + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    for name in ("text_encoder", "tokenizer", "scheduler"):
        shutil.copytree(os.path.join(tr.a.base, name), os.path.join(tmp, name))
    shutil.copy(os.path.join(tr.a.base, "model_index.json"), os.path.join(tmp, "model_index.json"))
    # the spec the clips were rendered and captioned from (world.py's), not the base pipeline's copy
    shutil.copy(os.path.join(world.HERE, "world_spec.json"), os.path.join(tmp, "world_spec.json"))
    pools = torch.load(tr.path("pools.pt"), map_location="cpu", weights_only=False)
    vae = tr.load_vae_ema().half()
    vae.register_to_config(scaling_factor=float(pools["scaling_factor"]))
    vae.save_pretrained(os.path.join(tmp, "vae"), safe_serialization=True)
    dit = make_dit(tr.s["dit_config"])
    dit.load_state_dict(torch.load(tr.path("dit.pt"), map_location="cpu", weights_only=False)["ema"])
    dit.half().save_pretrained(os.path.join(tmp, "transformer"), safe_serialization=True)
    s = tr.s
    summary = {
        "hardware": f"CPU ({cpu_name()}), {torch.get_num_threads()} threads, torch {torch.__version__}",
        "trainer": "Scripts/training/cpu_train.py (Docs/training.md)",
        "chunks": s["chunks"], "cpu_seconds": {k: round(v, 1) for k, v in s["cpu_seconds"].items()},
        "vae": {"config": s["vae_config"], "steps": s["vae"]["step"], "buckets_frames_px_batch_source": VAE_BUCKETS,
                "eval": s["vae"]["eval"], "history": s["vae"]["history"],
                "scaling_factor": pools["scaling_factor"], "latent_mean": pools["latent_mean"]},
        "transformer": {"config": s["dit_config"], "steps": s["dit"]["step"], "samples": s["dit"]["samples"],
                        "buckets_frames_px_batch_weight": DIT_BUCKETS,
                        "latent_pool_clips": {f"{f}x{p}": len(pools["buckets"][(f, p)]["captions"]) for (f, p) in POOL_SHARE},
                        "captions_per_clip": CAPTIONS_PER_CLIP, "trajectories": s.get("trajectories", "varied"),
                        "eval": s["dit"]["eval"], "history": s["dit"]["history"],
                        "objective": "flow matching, x_s=(1-s)x0+s*eps, v=eps-x0, t=1000*s, s~logit-normal(0,1) "
                                     "(10% uniform), shifted s->k*s/(1+(k-1)*s) by each chunk's dit_timestep_shift k (absent: 1), "
                                     "then a share dit_s1_share (one for all buckets or one per bucket; absent: 0) set to s=1, "
                                     f"text dropout {TEXT_DROPOUT} (at s=1 each chunk's dit_s1_text_dropout; absent: {TEXT_DROPOUT}), EMA min(0.999,(1+step)/(10+step))"},
    }
    with open(os.path.join(tmp, "training.json"), "w") as f:
        json.dump(summary, f, indent=1)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    log(f"exported {out}")


def bucket_values(text, flag, top=None):
    """"33x64=0.4,33x128=0.6" -> {"33x64": 0.4, "33x128": 0.6}: every name a DIT_BUCKETS one, every value
    at least 0 (and at most `top`), for `flag`'s error messages."""
    names = [f"{f}x{p}" for f, p, _, _ in DIT_BUCKETS]
    out = {}
    for item in text.split(","):
        name, _, v = (x.strip() for x in item.partition("="))
        if name not in names:
            raise argparse.ArgumentTypeError(f"{flag}: unknown bucket {name!r} in {text!r} (buckets: {', '.join(names)})")
        try:
            out[name] = float(v)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag}: bucket {name!r} needs a value, as in {name}=0.5: got {item!r}")
        if out[name] < 0 or (top is not None and out[name] > top):
            bounds = f"between 0 and {top:g}" if top is not None else "at least 0"
            raise argparse.ArgumentTypeError(f"{flag}: bucket {name!r} must be {bounds}, got {v}")
    return out


def bucket_weights(text):
    """`--dit-bucket-weights`: buckets' shares of the steps; buckets not named get none."""
    out = bucket_values(text, "--dit-bucket-weights")
    if sum(out.values()) <= 0:
        raise argparse.ArgumentTypeError(f"--dit-bucket-weights {text!r} gives no bucket a weight")
    return out


def share_arg(flag, forms="a share between 0 and 1"):
    def parse(text):
        try:
            p = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} takes {forms}: got {text!r}")
        if not 0.0 <= p <= 1.0:
            raise argparse.ArgumentTypeError(f"{flag} must be between 0 and 1, got {text}")
        return p
    return parse


def s1_shares(text):
    """`--dit-s1-share`: one share for every bucket ("0.5") or one per bucket ("33x128=0.7,129x128=0.7",
    buckets not named get none) -> {bucket: share}."""
    if "=" in text:
        out = bucket_values(text, "--dit-s1-share", top=1.0)
    else:
        p = share_arg("--dit-s1-share", "a share or FxPX=share,...")(text)
        out = {f"{f}x{px}": p for f, px, _, _ in DIT_BUCKETS}
    return {f"{f}x{px}": out.get(f"{f}x{px}", 0.0) for f, px, _, _ in DIT_BUCKETS}


def cpu_name():
    with open("/proc/cpuinfo") as f:
        flags = next((l for l in f if l.startswith("flags")), "")
    return "AVX-512 BF16" if "avx512_bf16" in flags else ("AVX-512" if "avx512f" in flags else "AVX2")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=0.0, help="wall-clock budget of this chunk (keep it under 2.5)")
    ap.add_argument("--resume", action="store_true", help="continue the run in the checkpoint directory")
    ap.add_argument("--redo-vae", action="store_true", help="with --resume: train the VAE on to a larger --vae-steps "
                    "although a transformer was trained on its latents (pools are rebuilt, the transformer continues)")
    ap.add_argument("--snapshot", metavar="DIR", help="export the checkpoint's weights as they are to DIR and stop; "
                    "safe while a chunk is training (the checkpoint is only read)")
    ap.add_argument("--save-warm-start", action="store_true", help=f"write the checkpoint's VAE, and its transformer once "
                    f"one is trained on that VAE's latents, to {os.path.relpath(WARM, ROOT)} (committed, so a run on a new "
                    "machine goes on from it) and stop")
    ap.add_argument("--restart", action="store_true", help="discard the run in the checkpoint directory and start anew")
    ap.add_argument("--dir", default=os.environ.get("BOTTLENECK_TRAIN_DIR",
                                                    os.path.join(os.path.expanduser("~"), ".cache", "bottleneck", "train")))
    ap.add_argument("--base", default=os.path.join(ROOT, "pipelines", "shapes"), help="committed pipeline to start from")
    ap.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=4321)
    ap.add_argument("--until", choices=PHASES[:-1], default="export", help="last phase this chunk may run")
    ap.add_argument("--checkpoint-minutes", type=float, default=10)
    ap.add_argument("--vae-steps", type=int, default=4000)
    ap.add_argument("--vae-lr", type=float, default=5e-4)
    ap.add_argument("--vae-groups", type=int, default=VAE_CONFIG["norm_num_groups"])
    ap.add_argument("--vae-channels", type=lambda v: [int(x) for x in v.split(",")], metavar="C0,C1,C2,C3",
                    help="with --resume --redo-vae: widen the VAE's levels to these widths (each kept or doubled, "
                    "same function to start from; e.g. 8,16,32,128)")
    ap.add_argument("--vae-decoder-only", action="store_true", help="with --resume --redo-vae: train the decoder "
                    "alone; the encoder, and so the pools and the transformer, are kept")
    ap.add_argument("--vae-latent-noise", type=float, default=0.0, help="std of noise added to the latents the decoder "
                    "sees in VAE steps, in the transformer's scaled units, so it tolerates the transformer's errors")
    ap.add_argument("--vae-scratch", action="store_true", help="do not start the VAE from the committed weights")
    ap.add_argument("--object-weight", type=float, default=8.0, help="loss weight of object pixels against background ones")
    ap.add_argument("--colour-weight", type=float, default=4.0, help="weight of the object patches' mean-colour L1")
    ap.add_argument("--pool-clips", type=int, default=4000)
    ap.add_argument("--dit-steps", type=int, default=12000)
    ap.add_argument("--dit-lr", type=float, default=6e-4)
    ap.add_argument("--dit-heads", type=int, help="with --resume: widen the transformer to this many heads of 64 "
                    "(twice its heads; same function to start from, fresh optimiser)")
    ap.add_argument("--dit-timestep-shift", type=float, default=1.0,
                    help="shift k of the training noise levels, s -> k s / (1 + (k - 1) s), as the sampler's (1: logit-normal as drawn)")
    ap.add_argument("--dit-s1-share", type=s1_shares, default=s1_shares("0"), metavar="P | FxPX=P,...",
                    help="share of the training noise levels set to s = 1 (pure noise in), after the shift: trains what "
                         "the prompt alone draws, where sampling starts; one share for every bucket or one per bucket "
                         "(those not named: none), e.g. 33x128=0.7,129x128=0.7 (default 0: none)")
    ap.add_argument("--dit-s1-text-dropout", type=share_arg("--dit-s1-text-dropout"), default=TEXT_DROPOUT, metavar="P",
                    help="text dropout (the empty prompt, for guidance) of the draws at s = 1 (default "
                         f"{TEXT_DROPOUT}, as at every "
                         "other noise level)")
    ap.add_argument("--trajectories", choices=["varied", "canonical"],
                    help="world of the pools' clips (world.motion_params): varied (start, speed, size, phase from the "
                         "seed) or canonical (fixed by the attributes); set while no pools exist, then kept with the run "
                         "(default: the warm start's, else varied)")
    ap.add_argument("--dit-bucket-weights", type=bucket_weights, metavar="FxPX=W,...",
                    help="this chunk's share of steps per transformer bucket, e.g. 33x64=0.4,33x128=0.6 (buckets not "
                         f"named get none; default: {', '.join(f'{f}x{p}={w}' for f, p, _, w in DIT_BUCKETS)})")
    ap.add_argument("--dit-object-weight", type=float, default=1.0,
                    help="flow-loss weight of latent pixels away from their frame's background latent (1: unweighted)")
    a = ap.parse_args()
    if a.hours <= 0 and not (a.snapshot or a.save_warm_start):
        ap.error("--hours is required (the chunk's wall-clock budget)")
    if a.redo_vae and not a.resume:
        ap.error("--redo-vae continues a run: give --resume too")
    if a.dit_heads and not a.resume:
        ap.error("--dit-heads widens a run's transformer: give --resume too")
    if a.vae_decoder_only and (not a.redo_vae or a.vae_channels):
        ap.error("--vae-decoder-only goes with --resume --redo-vae and without --vae-channels")
    if a.vae_channels and not a.redo_vae:
        ap.error("--vae-channels widens a trained VAE: give --resume --redo-vae too")
    torch.set_num_threads(a.threads)
    if a.save_warm_start:
        a.resume = True
        Trainer(a).save_warm_start()
    elif a.snapshot:
        a.resume = True
        tr = Trainer(a)
        if os.path.exists(tr.path("pools.pt")):
            export_pipeline(tr, os.path.abspath(a.snapshot))
        else:  # mid-VAE: no latents yet, so no transformer that matches them; the VAE alone
            tr.load_vae_ema().half().save_pretrained(os.path.join(a.snapshot, "vae"), safe_serialization=True)
            log(f"exported {a.snapshot}/vae only (the pools, and so the transformer's latents, are not made yet)")
    else:
        Trainer(a).run()


if __name__ == "__main__":
    main()
