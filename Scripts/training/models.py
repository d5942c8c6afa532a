"""Model configs of the embedded 'shapes' pipeline (diffusers 0.42.1 classes)."""

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
