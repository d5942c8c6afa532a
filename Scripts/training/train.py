"""Train the 'shapes' VAE + DiT under a wall-clock budget and export float16 weights.

GPU run (what made the shipped weights):
  python train.py --out $OUT --te <text_encoder dir> --tok <tokenizer dir> --vae-seconds 110 --pool-seconds 40 --dit-seconds 290
CPU smoke test (every code path, tiny sizes, ~2 minutes on 2 cores):
  python train.py --smoke --out /tmp/smoke --te ... --tok ...

Outputs in --out (kept to <= 8 files so a remote run can send them back):
  t/diffusion_pytorch_model-0000k-of-0000N.safetensors   transformer (EMA) float16 shards (~15 MB each)
  vae.safetensors                                        VAE float16
  meta.tar   transformer/config.json, transformer/diffusion_pytorch_model.safetensors.index.json,
             vae/config.json, log.json (losses, timings, config), samples_*.png
"""
import argparse
import copy
import io
import json
import math
import os
import random
import shutil
import sys
import tarfile
import time

import torch
import torch.nn.functional as Fn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world  # noqa: E402
from models import DIT_CONFIG, VAE_CONFIG, make_dit, make_vae  # noqa: E402
from textenc import MiniLMText  # noqa: E402

T0 = time.time()


def now():
    return time.time() - T0


def log(*a):
    print(f"[{now():7.1f}s]", *a, flush=True)


# ----------------------------------------------------------------------------- helpers

def lat_frames(F):
    return (F - 1) // 4 + 1


def vae_encode_mean(vae, x):
    """Whole-clip encode (no temporal tiling) -> posterior mean, logvar."""
    h = vae.quant_conv(vae.encoder(x))
    mean, logvar = h.chunk(2, dim=1)
    return mean, logvar.clamp(-30.0, 20.0)


def cos_lr(base, step, warm, frac, floor=0.1):
    w = min(1.0, (step + 1) / warm)
    return base * w * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))


def export_all(out, dit_ema, vae, sf, logd, samples=None, shard="15MB"):
    """Write float16 exports to `out` (<= 5 files)."""
    tmp = out + "_tmp_export"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    m = copy.deepcopy(dit_ema).to("cpu").half()
    m.save_pretrained(os.path.join(tmp, "transformer"), safe_serialization=True, max_shard_size=shard)
    del m
    if vae is not None:
        v = copy.deepcopy(vae).to("cpu").half()
        v.register_to_config(scaling_factor=float(sf))
        v.save_pretrained(os.path.join(tmp, "vae"), safe_serialization=True)
        del v
    os.makedirs(os.path.join(out, "t"), exist_ok=True)
    for f in os.listdir(os.path.join(out, "t")):
        os.remove(os.path.join(out, "t", f))
    tdir = os.path.join(tmp, "transformer")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for f in sorted(os.listdir(tdir)):
            if f.endswith(".safetensors"):
                shutil.copy(os.path.join(tdir, f), os.path.join(out, "t", f))
            else:
                tar.add(os.path.join(tdir, f), arcname="transformer/" + f)
        if vae is not None:
            shutil.copy(os.path.join(tmp, "vae", "diffusion_pytorch_model.safetensors"), os.path.join(out, "vae.safetensors"))
            tar.add(os.path.join(tmp, "vae", "config.json"), arcname="vae/config.json")
        data = json.dumps(logd, indent=1).encode()
        ti = tarfile.TarInfo("log.json"); ti.size = len(data); tar.addfile(ti, io.BytesIO(data))
        for name, png in (samples or {}).items():
            ti = tarfile.TarInfo(name); ti.size = len(png); tar.addfile(ti, io.BytesIO(png))
    with open(os.path.join(out, "meta.tar.tmp"), "wb") as f:
        f.write(buf.getvalue())
    os.replace(os.path.join(out, "meta.tar.tmp"), os.path.join(out, "meta.tar"))
    shutil.rmtree(tmp, ignore_errors=True)


@torch.no_grad()
def sample_euler(dit, states, mask, pooled, ustates, umask, upooled, shape, steps, shift, cfg, gen, device, amp=True):
    """Plain flow-matching Euler (diffusers FlowMatchEulerDiscreteScheduler, shift) with true CFG."""
    B = states.shape[0]
    x = torch.randn((B,) + tuple(shape), generator=gen, device="cpu").to(device)
    u = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)[:-1].float()
    sig = shift * u / (1 + (shift - 1) * u)
    sig = torch.cat([sig, torch.zeros(1)])
    S = torch.cat([states, ustates.expand(B, -1, -1)]); M = torch.cat([mask, umask.expand(B, -1)])
    P = torch.cat([pooled, upooled.expand(B, -1)])
    for k in range(steps):
        t = torch.full((2 * B,), float(sig[k] * 1000), device=device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            v = dit(torch.cat([x, x]), t, S, M, P, return_dict=False)[0].float()
        vc, vu = v[:B], v[B:]
        v = vu + cfg * (vc - vu)
        x = x + (sig[k + 1] - sig[k]).item() * v
    return x


def frames_png(video, frame_idx):
    """video [B,3,F,H,W] in [-1,1] -> PNG bytes of a grid (rows = clips, columns = frames)."""
    from PIL import Image
    v = ((video.float().clamp(-1, 1) + 1) * 127.5).round().byte().cpu()
    rows = [torch.cat([v[b, :, f] for f in frame_idx], dim=2) for b in range(v.shape[0])]
    g = torch.cat(rows, dim=1).permute(1, 2, 0).numpy()
    bio = io.BytesIO(); Image.fromarray(g).save(bio, format="PNG")
    return bio.getvalue()


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--te", required=True)
    ap.add_argument("--tok", required=True)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--device", default=None)
    ap.add_argument("--vae-seconds", type=float, default=110)
    ap.add_argument("--pool-seconds", type=float, default=40)
    ap.add_argument("--dit-seconds", type=float, default=290)
    ap.add_argument("--export-every", type=float, default=90)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--cpu-amp", action="store_true", help="bf16 autocast on CPU too (smoke-tests the GPU dtype paths)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    cuda = device.type == "cuda"
    torch.manual_seed(a.seed); random.seed(a.seed)
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = False
    os.makedirs(a.out, exist_ok=True)
    amp = dict(device_type=device.type, dtype=torch.bfloat16, enabled=cuda or a.cpu_amp)
    logd = {"device": torch.cuda.get_device_name(0) if cuda else "cpu", "torch": torch.__version__,
            "smoke": a.smoke, "vae_config": VAE_CONFIG, "dit_config": DIT_CONFIG, "phases": {}}
    seed_ctr = [a.seed * 1_000_003]

    def next_seeds(n):
        s = list(range(seed_ctr[0], seed_ctr[0] + n)); seed_ctr[0] += n
        return s

    # sizes ------------------------------------------------------------------
    if a.smoke:
        vae_buckets = [(17, 32, 2), (9, 16, 2)]
        dit_buckets = [  # (frames, px, batch, weight)
            (33, 32, 2, 1.0), (33, 16, 2, 1.0), (65, 16, 2, 1.0), (65, 32, 1, 1.0), (129, 16, 1, 1.0), (129, 32, 1, 1.0)]
        pool_target = {b[:2]: 6 for b in dit_buckets}
        chunk_vox = 2e5
    else:
        vae_buckets = [(17, 128, 24), (17, 64, 64), (33, 128, 12), (33, 64, 32)]
        dit_buckets = [
            (33, 64, 256, 0.22), (33, 128, 96, 0.20), (65, 64, 160, 0.12),
            (65, 128, 48, 0.14), (129, 64, 96, 0.12), (129, 128, 24, 0.20)]
        pool_target = {(33, 64): 12288, (33, 128): 6144, (65, 64): 6144,
                       (65, 128): 3072, (129, 64): 3072, (129, 128): 2048}
        chunk_vox = 6.0e7
    logd["vae_buckets"] = vae_buckets; logd["dit_buckets"] = dit_buckets

    # text encoder -----------------------------------------------------------
    te = MiniLMText(a.te, a.tok, device=device)
    ustates, umask, upooled = te.encode([""])
    log("text encoder ready", te.model.dtype)

    # ====================================================================== VAE
    vae = make_vae().to(device)
    opt = torch.optim.AdamW(vae.parameters(), lr=6e-4, betas=(0.9, 0.99), weight_decay=0.0)
    vae_hist = []
    t_start = now(); step = 0
    vae_budget = 5 if a.smoke else a.vae_seconds
    max_steps = 3 if a.smoke else 10**9
    while now() - t_start < vae_budget and step < max_steps:
        F, px, bs = random.choice(vae_buckets)
        clips = [world.make_clip(s) for s in next_seeds(bs)]
        with torch.no_grad():
            x = world.render_batch(clips, F, px, px, device)
        for g in opt.param_groups:
            g["lr"] = cos_lr(6e-4, step, 50, (now() - t_start) / vae_budget)
        with torch.autocast(**amp):
            mean, logvar = vae_encode_mean(vae, x)
            z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
            rec = vae.decoder(vae.post_quant_conv(z))
        rec = rec.float()
        l1 = (rec - x).abs().mean(); l2 = ((rec - x) ** 2).mean()
        kl = 0.5 * (mean.float() ** 2 + logvar.float().exp() - 1 - logvar.float()).mean()
        loss = l1 + l2 + 1e-6 * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 25 == 0 or a.smoke:
            vae_hist.append({"step": step, "t": round(now() - t_start, 2), "F": F, "px": px,
                             "l1": l1.item(), "l2": l2.item(), "kl": kl.item()})
            if step % 100 == 0 or a.smoke:
                log(f"vae step {step} F{F} {px}px l1 {l1.item():.4f} l2 {l2.item():.5f} kl {kl.item():.2f}")
    vae.eval()
    logd["phases"]["vae"] = {"steps": step, "seconds": round(now() - t_start, 1), "history": vae_hist}
    log(f"VAE done: {step} steps")

    # held-out VAE reconstruction error (whole-clip encode, default diffusers decode) ---------
    held = [json.loads(l) for l in open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     "..", "..", "samples", "heldout_prompts.jsonl"))] \
        if os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples", "heldout_prompts.jsonl")) \
        else [dict(world.make_clip(s), prompt=world.make_clip(s)["caption"]) for s in range(10_000_000, 10_000_064)]
    hclips = [world.clip_from_attributes(h["attributes"], h["seed"]) for h in held]

    # scaling factor ---------------------------------------------------------
    with torch.no_grad():
        ms = []
        for (F, px, bs) in vae_buckets:
            clips = [world.make_clip(s) for s in next_seeds(2 if a.smoke else 64)]
            x = world.render_batch(clips, F, px, px, device)
            with torch.autocast(**amp):
                mean, _ = vae_encode_mean(vae, x)
            ms.append(mean.float().flatten())
        allm = torch.cat(ms)
        std = allm.std().item(); mu = allm.mean().item()
        sf = 1.0 / std
        # held-out reconstruction (33 frames, 128 px or smoke size), through vae.decode (temporal tiling)
        Fh, pxh = (33, 32) if a.smoke else (33, 128)
        xh = world.render_batch(hclips[:4 if a.smoke else 16], Fh, pxh, pxh, device)
        with torch.autocast(**amp):
            mh, _ = vae_encode_mean(vae, xh)
            rh = vae.decode(mh).sample.float()
        rec_l1 = (rh - xh).abs().mean().item()
        vae_png = frames_png(torch.cat([xh[:4], rh[:4]]), [0, 8, 16, 24, 32])
    logd["scaling_factor"] = sf; logd["latent_mean"] = mu; logd["latent_std"] = std
    logd["vae_heldout_recon_l1_33f"] = rec_l1
    log(f"latent std {std:.4f} mean {mu:.4f} -> scaling_factor {sf:.5f}; held-out recon L1 {rec_l1:.4f}")
    vae.requires_grad_(False)

    # ====================================================================== latent pools
    t_start = now()
    pool_budget = 30 if a.smoke else a.pool_seconds
    pools = {k: {"lat": [], "n": 0, "cap": []} for k in pool_target}
    cap_list = []

    def chunk_size(F, px):
        return max(1, int(chunk_vox // (F * px * px)))

    while now() - t_start < pool_budget:
        fill = {k: pools[k]["n"] / pool_target[k] for k in pools}
        k = min(fill, key=fill.get)
        if fill[k] >= 1.0:
            break
        F, px = k
        n = min(chunk_size(F, px), pool_target[k] - pools[k]["n"])
        clips = [world.make_clip(s) for s in next_seeds(n)]
        with torch.no_grad():
            x = world.render_batch(clips, F, px, px, device)
            with torch.autocast(**amp):
                mean, _ = vae_encode_mean(vae, x)
        pools[k]["lat"].append((mean.float() * sf).to(torch.bfloat16))
        pools[k]["cap"].extend(range(len(cap_list), len(cap_list) + n))
        cap_list.extend(c["caption"] for c in clips)
        pools[k]["n"] += n
    for k in pools:
        pools[k]["lat"] = torch.cat(pools[k]["lat"]) if pools[k]["lat"] else None
        pools[k]["cap"] = torch.tensor(pools[k]["cap"], device=device, dtype=torch.long)
    t_text = now()
    cs, cm, cp = te.encode(cap_list, batch=1024)
    log(f"text: {len(cap_list)} captions in {now() - t_text:.1f}s")
    logd["phases"]["pool"] = {"seconds": round(now() - t_start, 1), "counts": {f"{k[0]}x{k[1]}": pools[k]["n"] for k in pools},
                              "captions": len(cap_list)}
    log("pools", logd["phases"]["pool"])
    del te
    dit_buckets = [b for b in dit_buckets if pools[b[:2]]["n"] > 0]

    # held-out eval set (fixed noise / sigmas) --------------------------------
    ev = []
    with torch.no_grad():
        te2 = None
        for (F, px) in ([(33, 32), (33, 16)] if a.smoke else [(33, 64), (33, 128)]):
            hc = hclips[:4 if a.smoke else 64]
            x = world.render_batch(hc, F, px, px, device)
            with torch.autocast(**amp):
                mean, _ = vae_encode_mean(vae, x)
            ev.append({"F": F, "px": px, "x0": mean.float() * sf, "idx": list(range(len(hc)))})
        te2 = MiniLMText(a.te, a.tok, device=device)
        hs, hm, hp = te2.encode([h["prompt"] for h in held])
        del te2
        g = torch.Generator().manual_seed(7)
        for e in ev:
            n = e["x0"].shape[0]
            e["eps"] = torch.randn(e["x0"].shape, generator=g).to(device)
            e["s"] = torch.sigmoid(torch.randn(n, generator=g)).to(device)

    def eval_loss(model):
        out = {}
        with torch.no_grad():
            for e in ev:
                s = e["s"].view(-1, 1, 1, 1, 1)
                xs = (1 - s) * e["x0"] + s * e["eps"]
                n = xs.shape[0]
                tot = 0.0
                for i in range(0, n, 32):
                    j = min(i + 32, n)
                    with torch.autocast(**amp):
                        v = model(xs[i:j], e["s"][i:j] * 1000, hs[i:j], hm[i:j], hp[i:j],
                                  return_dict=False)[0].float()
                    tot += ((v - (e["eps"][i:j] - e["x0"][i:j])) ** 2).mean().item() * v.shape[0]
                out[f"{e['F']}x{e['px']}"] = tot / n
        return out

    # ====================================================================== DiT
    dit = make_dit().to(device)
    ema = copy.deepcopy(dit).requires_grad_(False)
    base_lr = 4e-4
    opt = torch.optim.AdamW(dit.parameters(), lr=base_lr, betas=(0.9, 0.99), weight_decay=0.01)
    params = [p for p in dit.parameters()]
    eparams = [p for p in ema.parameters()]
    weights = torch.tensor([b[3] for b in dit_buckets])
    dit_hist = []; eval_hist = []
    pend = []
    t_start = now(); step = 0; last_export = now(); last_eval = now()
    dit_budget = 20 if a.smoke else a.dit_seconds
    max_steps = 4 if a.smoke else 10**9
    samples_seen = 0
    gen = torch.Generator(device=device).manual_seed(a.seed + 1)
    while now() - t_start < dit_budget and step < max_steps:
        bi = torch.multinomial(weights, 1).item()
        F, px, bs, _ = dit_buckets[bi]
        P = pools[(F, px)]
        idx = torch.randint(P["n"], (bs,), device=device, generator=gen)
        x0 = P["lat"][idx].float()
        ci = P["cap"][idx]
        st, sm, sp = cs[ci], cm[ci], cp[ci]
        drop = torch.rand(bs, device=device, generator=gen) < 0.1
        st = torch.where(drop.view(-1, 1, 1), ustates.expand(bs, -1, -1), st)
        sm = torch.where(drop.view(-1, 1), umask.expand(bs, -1), sm)
        sp = torch.where(drop.view(-1, 1), upooled.expand(bs, -1), sp)
        # sigma: logit-normal(0,1), 10% uniform
        s = torch.sigmoid(torch.randn(bs, device=device, generator=gen))
        uni = torch.rand(bs, device=device, generator=gen)
        s = torch.where(torch.rand(bs, device=device, generator=gen) < 0.1, uni, s).clamp(1e-4, 1.0)
        eps = torch.randn(x0.shape, device=device, generator=gen)
        sv = s.view(-1, 1, 1, 1, 1)
        xs = (1 - sv) * x0 + sv * eps
        tgt = eps - x0
        lr = cos_lr(base_lr, step, 100, (now() - t_start) / dit_budget)
        for g_ in opt.param_groups:
            g_["lr"] = lr
        with torch.autocast(**amp):
            pred = dit(xs, s * 1000, st, sm, sp, return_dict=False)[0]
        loss = ((pred.float() - tgt) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(dit.parameters(), 1.0)
        opt.step()
        decay = min(0.999, (1 + step) / (10 + step))
        with torch.no_grad():
            torch._foreach_lerp_(eparams, params, 1 - decay)
        step += 1; samples_seen += bs
        pend.append((step, F, px, loss.detach(), gn.detach()))
        if len(pend) >= 25 or a.smoke:
            tt = round(now() - t_start, 2)
            for (stp, f_, p_, l_, g__) in pend:
                dit_hist.append({"step": stp, "t": tt, "F": f_, "px": p_, "loss": l_.item(), "gnorm": g__.item()})
            pend = []
            if step % 200 == 0 or a.smoke:
                rec = dit_hist[-25:]
                log(f"dit step {step} lr {lr:.2e} loss(avg25) {sum(r['loss'] for r in rec) / len(rec):.4f} samples {samples_seen}")
        if now() - last_eval > (5 if a.smoke else 45):
            el = eval_loss(ema); el["step"] = step; el["t"] = round(now() - t_start, 1)
            eval_hist.append(el); last_eval = now()
            log("heldout eval (EMA)", el)
        if now() - last_export > a.export_every and not a.smoke:
            logd["phases"]["dit"] = {"steps": step, "samples": samples_seen, "seconds": round(now() - t_start, 1),
                                     "history": dit_hist, "eval": eval_hist, "partial": True}
            export_all(a.out, ema, vae, sf, logd)
            last_export = now()
            log("checkpoint exported")
    el = eval_loss(ema); el["step"] = step; el["t"] = round(now() - t_start, 1); eval_hist.append(el)
    log("final heldout eval (EMA)", el)
    logd["phases"]["dit"] = {"steps": step, "samples": samples_seen, "seconds": round(now() - t_start, 1),
                             "history": dit_hist, "eval": eval_hist, "partial": False,
                             "optimizer": "AdamW lr 4e-4 betas (0.9,0.99) wd 0.01, warmup 100, cosine to 10% over the time budget",
                             "ema": "decay min(0.999, (1+step)/(10+step))"}
    log(f"DiT done: {step} steps, {samples_seen} samples")
    export_all(a.out, ema, vae, sf, logd)
    log("exported")

    # ====================================================================== samples
    samples = {"vae_recon_heldout.png": vae_png}
    try:
        ema.eval()
        sel = [0, 1, 2, 3, 4, 5] if not a.smoke else [0, 1]
        st, sm, sp = hs[sel], hm[sel], hp[sel]
        (Fs, pxs) = (33, 32) if a.smoke else (33, 128)
        shp = (16, lat_frames(Fs), pxs // 8, pxs // 8)
        prompts = [held[i]["prompt"] for i in sel]
        for shift in ([3.0] if a.smoke else [2.0, 3.0, 5.0]):
            g = torch.Generator().manual_seed(0)
            lat = sample_euler(ema, st, sm, sp, ustates, umask, upooled, shp, 4 if a.smoke else 30, shift, 4.0, g, device, amp["enabled"])
            with torch.no_grad(), torch.autocast(**amp):
                vid = vae.decode(lat / sf).sample.float()
            samples[f"samples_128_shift{shift:g}.png"] = frames_png(vid, [0, 8, 16, 24, 32])
        if not a.smoke:
            g = torch.Generator().manual_seed(0)
            lat = sample_euler(ema, st, sm, sp, ustates, umask, upooled, (16, 9, 8, 8), 30, 2.0, 4.0, g, device, amp["enabled"])
            with torch.no_grad(), torch.autocast(**amp):
                vid = vae.decode(lat / sf).sample.float()
            samples["samples_64_shift2.png"] = frames_png(vid, [0, 8, 16, 24, 32])
        logd["sample_prompts"] = prompts
        log("samples done")
    except Exception as ex:  # samples are a bonus; never lose the weights over them
        logd["sample_error"] = repr(ex)
        log("sample error", repr(ex))
    logd["total_seconds"] = round(now(), 1)
    export_all(a.out, ema, vae, sf, logd, samples)
    log("all done")


if __name__ == "__main__":
    main()
