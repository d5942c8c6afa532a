"""Model configs of the embedded 'shapes' pipeline (diffusers 0.42.1 classes)."""
import json
import os

import torch
from safetensors.torch import load_file

# norm_num_groups=1: with 4 groups the decoder's last GroupNorm normalised 2-channel groups over the
# whole clip and erased a flat background's colour (Docs/training.md, "Known problems").
VAE_CONFIG = dict(
    in_channels=3, out_channels=3, latent_channels=16,
    down_block_types=("HunyuanVideoDownBlock3D",) * 4,
    up_block_types=("HunyuanVideoUpBlock3D",) * 4,
    block_out_channels=(8, 16, 32, 64), layers_per_block=1, act_fn="silu", norm_num_groups=1,
    scaling_factor=1.0, spatial_compression_ratio=8, temporal_compression_ratio=4,
    mid_block_add_attention=True,
)

# The VAE of the GPU run (four groups), whose latent space finetune_decoder.py and decoder_error.py keep.
GPU_RUN_VAE_CONFIG = dict(VAE_CONFIG, norm_num_groups=4)

# The 20 M transformer of the GPU run (train.py).
DIT_CONFIG = dict(
    in_channels=16, out_channels=16, num_attention_heads=4, attention_head_dim=64,
    num_layers=4, num_single_layers=8, num_refiner_layers=2, mlp_ratio=4.0,
    patch_size=2, patch_size_t=1, qk_norm="rms_norm", guidance_embeds=False,
    text_embed_dim=384, pooled_projection_dim=384, rope_theta=256.0, rope_axes_dim=(16, 24, 24),
)

# The CPU-sized transformer (cpu_train.py): 2 heads x 64, 2 double + 4 single blocks, 1 refiner layer,
# about 2.7 M parameters; trains several times more samples per CPU hour than DIT_CONFIG
# (../shared/reference/machine.md) and generates several times faster.
DIT_CPU_CONFIG = dict(DIT_CONFIG, num_attention_heads=2, num_layers=2, num_single_layers=4, num_refiner_layers=1)


def make_vae(config=VAE_CONFIG):
    from diffusers import AutoencoderKLHunyuanVideo
    return AutoencoderKLHunyuanVideo(**config)


def make_dit(config=DIT_CONFIG):
    from diffusers import HunyuanVideoTransformer3DModel
    return HunyuanVideoTransformer3DModel(**config)


def widen_vae(vae, block_out_channels, generator):
    """The same function at wider levels (Net2Net): each level of `block_out_channels` keeps its
    width or doubles it. A doubled channel is copied (its copy's incoming weights get 1 % noise, so
    the two can learn apart) and every consumer of it reads each copy at half weight; GroupNorm with
    one group sees the same statistics over duplicated channels. The mid-block attention is one head
    as wide as the level: its queries are scaled by 1/sqrt 2 so q.k/sqrt(width) is unchanged.
    Only widths whose resnets keep their shortcut type (1x1 conv or identity) are allowed, so every
    tensor maps one to one (e.g. (8, 16, 32, 64) -> (8, 16, 32, 128) or (8, 16, 64, 128))."""
    old = vae.config.block_out_channels
    if len(block_out_channels) != len(old) or any(n not in (o, 2 * o) for o, n in zip(old, block_out_channels)):
        raise ValueError(f"widen_vae: {tuple(block_out_channels)} must keep or double each level of {tuple(old)}")
    wide = make_vae(dict(vae.config, block_out_channels=tuple(block_out_channels)))
    target = wide.state_dict()
    if set(target) != set(vae.state_dict()):
        raise ValueError(f"widen_vae: {tuple(block_out_channels)} changes which resnets have a 1x1 shortcut")
    out = {}
    for k, w in vae.state_dict().items():
        v, n = w.clone(), target[k]
        if n.shape[0] == 2 * v.shape[0]:
            copy = v + (0.01 * v.std() * torch.randn(v.shape, generator=generator) if v.dim() > 1 else 0)
            v = torch.cat([v, copy], 0)
            if ".attentions.0.to_q." in k:
                v = v * 2 ** -0.5
        if n.dim() > 1 and n.shape[1] == 2 * v.shape[1]:
            v = torch.cat([v / 2, v / 2], 1)
        out[k] = v
    wide.load_state_dict(out)
    return wide


def widen_dit(dit, heads, generator, noise=0.01):
    """The same function with twice the attention heads (Net2Net), so the width (heads x 64) doubles
    too: every tensor dimension that doubles is a run of width-sized chunks (the residual stream, the
    q/k/v heads, the AdaLN shift/scale/gate chunks, the MLP's hidden units), and each chunk is copied
    in place. A layer reading a doubled dimension (dimension 1 of a Linear or Conv weight) reads each
    copy at half weight; LayerNorm and the per-head RMSNorm see the same statistics over copies, and
    the head width (hence the attention scale and RoPE) is unchanged. The copies' incoming weights
    get `noise` (relative) so the copies can learn apart."""
    old = dit.config.num_attention_heads
    if heads != 2 * old:
        raise ValueError(f"widen_dit: {heads} heads must be twice the {old} heads")
    unit = old * dit.config.attention_head_dim
    wide = make_dit(dict(dit.config, num_attention_heads=heads))
    target = wide.state_dict()
    out = {}
    for k, w in dit.state_dict().items():
        v, n = w.clone(), target[k]
        for d in range(v.dim()):
            if n.shape[d] == v.shape[d]:
                continue
            if n.shape[d] != 2 * v.shape[d] or v.shape[d] % unit:
                raise ValueError(f"widen_dit: {k} dimension {d}: {v.shape[d]} -> {n.shape[d]} is no doubling of {unit}-wide chunks")
            chunks = v.split(unit, d)
            if d == 0 and v.dim() > 1 and noise:
                copies = [c + noise * c.std() * torch.randn(c.shape, generator=generator) for c in chunks]
            else:
                copies = chunks
            v = torch.cat([x for pair in zip(chunks, copies) for x in pair], d)
            if d == 1:
                v = v / 2
        out[k] = v
    wide.load_state_dict(out)
    return wide


def load_folder(make, folder):
    """A model from a diffusers-layout folder (config.json and float16 or float32 safetensors) in float32,
    e.g. load_folder(make_dit, "Scripts/training/warmstart/transformer")."""
    with open(os.path.join(folder, "config.json")) as f:
        model = make({k: v for k, v in json.load(f).items() if not k.startswith("_")})
    model.load_state_dict({k: v.float() for k, v in load_file(os.path.join(folder, "diffusion_pytorch_model.safetensors")).items()})
    return model
