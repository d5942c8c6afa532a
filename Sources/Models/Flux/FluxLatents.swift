import Tensor

/// FluxPipeline's latent packing (diffusers 0.42.1 `pipelines/flux/pipeline_flux.py`): the
/// transformer sees each 2 × 2 patch of latent cells as one token of `4·C` features, in
/// row-major order over the patch grid, with RoPE positions (0, row, column) on that grid.
extension FluxTransformer {
    /// `_pack_latents`: `[B, h, w, C]` (channels last, ours) → `[B, (h/2)·(w/2), 4·C]`, feature
    /// `c·4 + dy·2 + dx` of token (i, j) being cell (2i + dy, 2j + dx), channel c (diffusers
    /// views `[B, C, h, w]` as `[B, C, h/2, 2, w/2, 2]` and permutes to `[B, h/2, w/2, C, 2, 2]`).
    /// `h` and `w` must be even.
    public static func pack(_ latents: Tensor) -> Tensor {
        let (b, h, w, c) = (latents.shape[0], latents.shape[1], latents.shape[2], latents.shape[3])
        precondition(h % 2 == 0 && w % 2 == 0, "FluxTransformer.pack: odd latent grid \(h)×\(w)")
        return latents.data.withUnsafeBufferPointer { x in
            Tensor(shape: [b, (h / 2) * (w / 2), 4 * c]) { out in
                var o = 0
                for bi in 0..<b { for i in 0..<(h / 2) { for j in 0..<(w / 2) { for ci in 0..<c {
                    for dy in 0..<2 { for dx in 0..<2 {
                        out[o] = x[((bi * h + 2 * i + dy) * w + 2 * j + dx) * c + ci]
                        o += 1
                    } }
                } } } }
            }
        }
    }

    /// `_unpack_latents`, the inverse of `pack`: `[B, (h/2)·(w/2), 4·C]` → `[B, h, w, C]`.
    public static func unpack(_ tokens: Tensor, height h: Int, width w: Int) -> Tensor {
        let (b, c) = (tokens.shape[0], tokens.shape[2] / 4)
        return tokens.data.withUnsafeBufferPointer { x in
            Tensor(shape: [b, h, w, c]) { out in
                var o = 0
                for bi in 0..<b { for i in 0..<(h / 2) { for j in 0..<(w / 2) { for ci in 0..<c {
                    for dy in 0..<2 { for dx in 0..<2 {
                        out[((bi * h + 2 * i + dy) * w + 2 * j + dx) * c + ci] = x[o]
                        o += 1
                    } }
                } } } }
            }
        }
    }

    /// `_prepare_latent_image_ids` on the packed grid of a `h × w` latent: `[(h/2)·(w/2), 3]`,
    /// row (0, i, j) for token (i, j).
    public static func imageIDs(latentHeight h: Int, latentWidth w: Int) -> Tensor {
        Tensor(shape: [(h / 2) * (w / 2), 3]) { out in
            for i in 0..<(h / 2) { for j in 0..<(w / 2) {
                out[(i * (w / 2) + j) * 3] = 0
                out[(i * (w / 2) + j) * 3 + 1] = Float(i)
                out[(i * (w / 2) + j) * 3 + 2] = Float(j)
            } }
        }
    }
}
