import Tensor

/// Port of diffusers 0.42.1 `HunyuanVideoUpsampleCausal3D`: nearest upsampling where the first
/// frame of the video is upsampled in space only, then a 3×3×3 causal conv.
struct UpsampleCausal3D: Sendable {
    let conv: CausalConv3d
    /// Temporal factor (1 or 2); the spatial factor is 2 when `spatial`.
    let frameFactor: Int, spatialFactor: Int

    /// `[T, H, W, C] -> [T', 2H, 2W, C]` with `T' = 1 + s·(T − 1)` for the chunk that starts the
    /// video and `s·T` for later chunks of a stream.
    func callAsFunction(_ x: Tensor, state: inout DecodeState) -> Tensor {
        let frames = x.shape[0]
        let up: Tensor
        if state.atStart {
            let first = x.slice(rows: 0..<1).upsampledNearest(frames: 1, height: spatialFactor, width: spatialFactor)
            if frames > 1 {
                let rest = x.slice(rows: 1..<frames)
                    .upsampledNearest(frames: frameFactor, height: spatialFactor, width: spatialFactor)
                up = Tensor.concatenate(rows: [first, rest])
            } else {
                up = first
            }
        } else {
            up = x.upsampledNearest(frames: frameFactor, height: spatialFactor, width: spatialFactor)
        }
        state.record(up)
        return conv(up, state: &state)
    }
}

/// Port of diffusers 0.42.1 `HunyuanVideoUpBlock3D` (`layers_per_block + 1` resnets, then an
/// optional upsampler).
struct UpBlock3D: Sendable {
    let resnets: [ResnetBlockCausal3D]
    let upsampler: UpsampleCausal3D?

    func callAsFunction(_ x: Tensor, state: inout DecodeState) -> Tensor? {
        var h = x
        for resnet in resnets {
            guard let next = resnet(h, state: &state) else { return nil }
            h = next
        }
        return upsampler.map { $0(h, state: &state) } ?? h
    }
}
