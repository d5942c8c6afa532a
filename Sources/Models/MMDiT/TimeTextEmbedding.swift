import Foundation
import Tensor

/// Sinusoidal timestep features, diffusers `Timesteps(256, flip_sin_to_cos=True,
/// downscale_freq_shift=0)` (`embeddings.py` `get_timestep_embedding`): `[cos(v·f), sin(v·f)]`.
public enum TimestepSinusoid {
    /// The 128 float32 frequencies `exp(-ln(10000)·i/128)` exactly as torch computes them
    /// (dumped by `Scripts/fixtures/make_transformer_fixtures.py --frequencies`), so large
    /// arguments (t = 1000, guidance 6000) match bit for bit (hunyuan-video.md §6.2).
    public static let frequencies: [Float] = [
        0x1.0p0, 0x1.dc73fp-1, 0x1.bb5facp-1, 0x1.9c9758p-1, 0x1.7ff222p-1,
        0x1.654a0cp-1, 0x1.4c7bcp-1, 0x1.356656p-1, 0x1.1feb34p-1, 0x1.0beddcp-1,
        0x1.f2a79cp-2, 0x1.d008cp-2, 0x1.afd136p-2, 0x1.91d646p-2, 0x1.75f036p-2,
        0x1.5bf9fep-2, 0x1.43d136p-2, 0x1.2d55d4p-2, 0x1.186a06p-2, 0x1.04f21p-2,
        0x1.e5a844p-3, 0x1.c3f06cp-3, 0x1.a48fdap-3, 0x1.875cf8p-3, 0x1.6c310ep-3,
        0x1.52e812p-3, 0x1.3b607ep-3, 0x1.257b2p-3, 0x1.111aeep-3, 0x1.fc49bep-4,
        0x1.d8ffaap-4, 0x1.b828c8p-4, 0x1.999998p-4, 0x1.7d298ep-4, 0x1.62b2fp-4,
        0x1.4a12aep-4, 0x1.33281ap-4, 0x1.1dd4d8p-4, 0x1.09fc98p-4, 0x1.ef0a22p-5,
        0x1.ccab82p-5, 0x1.acafc6p-5, 0x1.8eec8p-5, 0x1.733a3p-5, 0x1.59742ap-5,
        0x1.417836p-5, 0x1.2b269p-5, 0x1.166196p-5, 0x1.030dc4p-5, 0x1.e222eep-6,
        0x1.c0a9a2p-6, 0x1.a1835p-6, 0x1.84869cp-6, 0x1.698d22p-6, 0x1.507312p-6,
        0x1.39172cp-6, 0x1.235a72p-6, 0x1.0f2012p-6, 0x1.f89a6p-7, 0x1.d591ccp-7,
        0x1.b4f7e2p-7, 0x1.96a16ap-7, 0x1.7a661cp-7, 0x1.6020ap-7, 0x1.47ae14p-7,
        0x1.30ee0cp-7, 0x1.1bc25cp-7, 0x1.080eeep-7, 0x1.eb735ap-8, 0x1.c9548ap-8,
        0x1.a9942ap-8, 0x1.8c0814p-8, 0x1.708934p-8, 0x1.56f304p-8, 0x1.3f2398p-8,
        0x1.28fb5ep-8, 0x1.145ceap-8, 0x1.012cf8p-8, 0x1.dea41ap-9, 0x1.bd68f4p-9,
        0x1.9e7c66p-9, 0x1.81b584p-9, 0x1.66ee1ap-9, 0x1.4e02a6p-9, 0x1.36d21ap-9,
        0x1.213dbp-9, 0x1.0d28dap-9, 0x1.f4f1ep-10, 0x1.d22a5p-10, 0x1.b1cceap-10,
        0x1.93aeb2p-10, 0x1.77a7d6p-10, 0x1.5d931cp-10, 0x1.454deep-10, 0x1.2eb816p-10,
        0x1.19b3b2p-10, 0x1.0624dcp-10, 0x1.e7e344p-11, 0x1.c603c6p-11, 0x1.a67e48p-11,
        0x1.892914p-11, 0x1.6ddd3ap-11, 0x1.547688p-11, 0x1.3cd344p-11, 0x1.26d428p-11,
        0x1.125c02p-11, 0x1.fe9f5ap-12, 0x1.db2bc8p-12, 0x1.ba2e42p-12, 0x1.9b7b26p-12,
        0x1.7ee9acp-12, 0x1.6453f6p-12, 0x1.4b96c2p-12, 0x1.34914p-12, 0x1.1f24eap-12,
        0x1.0b3548p-12, 0x1.f1501ap-13, 0x1.cec918p-13, 0x1.aea7c4p-13, 0x1.90c17ep-13,
        0x1.74eea6p-13, 0x1.5b0a54p-13, 0x1.42f232p-13, 0x1.2c864cp-13, 0x1.17a8dap-13,
        0x1.043e5p-13, 0x1.e459bap-14, 0x1.c2b91cp-14
    ]

    /// `[values.count, 256]`: row `b` is `[cos(v_b·f_0…127), sin(v_b·f_0…127)]`, float32.
    public static func embed(_ values: [Float]) -> Tensor {
        Tensor(shape: [values.count, 256]) { buf in
            for (b, v) in values.enumerated() {
                for i in 0..<128 {
                    let angle = v * frequencies[i]
                    buf[b * 256 + i] = Float(_cos(Double(angle)))
                    buf[b * 256 + 128 + i] = Float(_sin(Double(angle)))
                }
            }
        }
    }
}

@inline(__always) private func _cos(_ x: Double) -> Double { cos(x) }
@inline(__always) private func _sin(_ x: Double) -> Double { sin(x) }

/// `linear_1 → SiLU → linear_2`: diffusers `TimestepEmbedding` and
/// `PixArtAlphaTextProjection(act_fn="silu")` (same keys `linear_1`, `linear_2`).
public struct EmbeddingMLP: Sendable {
    public let linear1: Linear
    public let linear2: Linear

    init(_ w: any ParameterSource, in inFeatures: Int, out width: Int) throws {
        linear1 = try Linear(w.scoped("linear_1"), in: inFeatures, out: width)
        linear2 = try Linear(w.scoped("linear_2"), in: width, out: width)
    }

    /// `[B, in]` → `[B, width]`.
    func callAsFunction(_ x: Tensor) -> Tensor { linear2(linear1(x).silu()) }
}

/// Port of diffusers 0.42.1 `HunyuanVideoConditionEmbedding` (T2V: no token-replace branch) and
/// of FLUX's `CombinedTimestepGuidanceTextProjEmbeddings` / `CombinedTimestepTextProjEmbeddings`
/// (`embeddings.py`), the same sum under the same keys:
/// `temb = MLP_t(sinus(t)) + MLP_g(sinus(guidance)) + MLP_p(pooled)`.
public struct TimeTextEmbedding: Sendable {
    public let timestepEmbedder: EmbeddingMLP
    public let textEmbedder: EmbeddingMLP
    /// nil when `guidance_embeds` is false.
    public let guidanceEmbedder: EmbeddingMLP?

    init(_ w: any ParameterSource, width: Int, pooledWidth: Int, guidance: Bool) throws {
        timestepEmbedder = try EmbeddingMLP(w.scoped("timestep_embedder"), in: 256, out: width)
        textEmbedder = try EmbeddingMLP(w.scoped("text_embedder"), in: pooledWidth, out: width)
        guidanceEmbedder = guidance ? try EmbeddingMLP(w.scoped("guidance_embedder"), in: 256, out: width) : nil
    }

    /// - Parameters:
    ///   - timestep: per batch item, 1000·σ.
    ///   - pooled: `[B, pooledWidth]`.
    ///   - guidance: per batch item (embedded guidance · 1000), used iff the embedder exists.
    /// - Returns: `temb`, `[B, width]`.
    func callAsFunction(timestep: [Float], pooled: Tensor, guidance: [Float]?) -> Tensor {
        var temb = timestepEmbedder(TimestepSinusoid.embed(timestep))
        if let g = guidanceEmbedder, let guidance { temb.add(g(TimestepSinusoid.embed(guidance))) }
        temb.add(textEmbedder(pooled))
        return temb
    }
}
