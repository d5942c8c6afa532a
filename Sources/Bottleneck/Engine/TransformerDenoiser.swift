import Dispatch
import Models
import Sampling
import Synchronization
import Tensor

/// The transformer as the sampler's `Denoiser`: one prompt, conditional or unconditional pass.
struct TransformerDenoiser: Denoiser {
    let transformer: HunyuanVideoTransformer
    let embeddings: PromptEmbeddings
    /// Runs the unconditional pass of a guided step beside the conditional one.
    private let sidePass = DispatchQueue(label: "bottleneck.unconditional-pass")

    init(transformer: HunyuanVideoTransformer, embeddings: PromptEmbeddings) {
        self.transformer = transformer
        self.embeddings = embeddings
    }

    mutating func velocity(_ latents: Tensor, timestep: Float, geometry: StageGeometry,
                           conditional: Bool) throws -> Tensor {
        try pass(latents, timestep: timestep, conditional: conditional)
    }

    /// The two passes side by side, each on half the kernel threads (one each on two cores),
    /// instead of one after the other on all of them: a pass on one thread has no parallel
    /// regions to wait for, no split products and no serial stretches leaving a core idle,
    /// which is worth most at the bottleneck stage's low resolution (Docs/benchmarks.md).
    /// Results equal the sequential passes' bit for bit where a split product equals one call
    /// (OpenBLAS's AVX-512 kernels) and within float rounding elsewhere (`BLAS.splitAlignment`).
    mutating func guidedVelocities(_ latents: Tensor, timestep: Float,
                                   geometry: StageGeometry) throws -> (conditional: Tensor, unconditional: Tensor) {
        let workers = Threads.count
        guard workers >= 2 else {
            return (try pass(latents, timestep: timestep, conditional: true),
                    try pass(latents, timestep: timestep, conditional: false))
        }
        let side = workers / 2
        let unconditional = Mutex<Result<Tensor, any Error>?>(nil)
        let group = DispatchGroup()
        sidePass.async(group: group) { [self] in
            let r = Result { try Threads.withWorkers(side) { try pass(latents, timestep: timestep, conditional: false) } }
            unconditional.withLock { $0 = r }
        }
        let conditional = Result { try Threads.withWorkers(workers - side) { try pass(latents, timestep: timestep, conditional: true) } }
        group.wait()
        return (try conditional.get(), try unconditional.withLock { $0! }.get())
    }

    private func pass(_ latents: Tensor, timestep: Float, conditional: Bool) throws -> Tensor {
        // MiniLMStage always encodes the negative prompt; guidance without it is a wiring bug.
        guard let text = conditional ? embeddings.conditional : embeddings.unconditional else {
            preconditionFailure("an unconditional pass without the negative prompt's embeddings")
        }
        return try transformer(latents: latents, timestep: [timestep], text: text.states, textMask: text.mask,
                               pooled: text.pooled, guidance: nil)
    }
}
