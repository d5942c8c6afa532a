/// The FLOPs model of a HunyuanVideo-style transformer (bottleneck-sampling.md "Cost model",
/// hunyuan-video.md §7): per block with N = image + text tokens and width D,
/// linear ≈ 24·N·D², attention ≈ 4·N²·D (multiply-add = 2 FLOPs). Double- and single-stream
/// blocks cost the same; embedders, refiner and final layer are ignored (< 0.1 %).
public struct TransformerCost: Codable, Sendable, Equatable {
    /// Hidden width D = heads × head dim.
    public var width: Int
    public var doubleBlocks: Int
    public var singleBlocks: Int
    public var patch: PatchSize
    /// Text tokens appended to the image tokens in every block.
    public var textTokens: Int

    public init(width: Int, doubleBlocks: Int, singleBlocks: Int, patch: PatchSize = PatchSize(),
                textTokens: Int) {
        self.width = width
        self.doubleBlocks = doubleBlocks
        self.singleBlocks = singleBlocks
        self.patch = patch
        self.textTokens = textTokens
    }

    /// The default pipeline's transformer: 4 heads × 64 = 256 wide, 4 double + 8 single blocks,
    /// patch 1×2×2, 32 text tokens.
    public static let defaultModel = TransformerCost(width: 256, doubleBlocks: 4, singleBlocks: 8, textTokens: 32)
    /// HunyuanVideo 13B: 24 × 128 = 3072 wide, 20 double + 40 single blocks, 256 text tokens.
    public static let hunyuanVideo = TransformerCost(width: 3072, doubleBlocks: 20, singleBlocks: 40, textTokens: 256)

    public var blocks: Int { doubleBlocks + singleBlocks }

    /// FLOPs of one transformer pass over `imageTokens` image tokens (plus the text tokens).
    public func flopsPerPass(imageTokens: Int) -> Double {
        let n = Double(imageTokens + textTokens), d = Double(width)
        return Double(blocks) * (24 * n * d * d + 4 * n * n * d)
    }

    /// FLOPs of one pass at latent size `size`.
    public func flopsPerPass(_ size: LatentSize) -> Double { flopsPerPass(imageTokens: patch.tokens(size)) }
}

/// A plan's cost against standard sampling.
public struct PlanCost: Sendable, Equatable {
    public struct Stage: Sendable, Equatable {
        public var index: Int
        public var size: LatentSize
        public var tokens: Int
        public var modelCalls: Int
        public var flops: Double
    }
    public var stages: [Stage]
    /// Sum over stages (× passes per call).
    public var planFLOPs: Double
    /// `baseSteps` full-size calls (× passes per call).
    public var standardFLOPs: Double
    /// `standardFLOPs / planFLOPs`.
    public var speedup: Double { standardFLOPs / planFLOPs }
}

extension BottleneckPlan {
    /// FLOPs of this plan relative to `baseSteps` standard steps at `base`.
    /// - Parameter passesPerCall: 2 with classifier-free guidance (two passes per step), else 1.
    public func cost(base: LatentSize, transformer: TransformerCost, passesPerCall: Int = 1) throws -> PlanCost {
        let stages = try resolved(base: base, patch: transformer.patch)
        let passes = Double(passesPerCall)
        let rows = stages.map { s in
            PlanCost.Stage(index: s.index, size: s.size, tokens: s.tokens, modelCalls: s.modelCalls,
                           flops: Double(s.modelCalls) * passes * transformer.flopsPerPass(imageTokens: s.tokens))
        }
        return PlanCost(stages: rows, planFLOPs: rows.reduce(0) { $0 + $1.flops },
                        standardFLOPs: Double(baseSteps) * passes * transformer.flopsPerPass(base))
    }
}
