import Foundation
import Media
import Sampling

/// What one request needs of the machine at its peak, worked out before any weights load, so a
/// video that cannot fit is refused with the estimate and the limit instead of dying half-way
/// with "failed to allocate" (issue #16). The CLI fills it from the pipeline's configs, its
/// weight files' headers and the request's resolved plan (`ResourceFit`); this type
/// adds the shares up, compares them with what the machine has, and words the refusal.
///
/// Memory is the resident share (the process, the weights as held) plus the working sets of
/// the phases that can run at once: a `generate` denoises, then decodes; in a batch the decode
/// of one item runs beside the denoising of the next (`StageRunner`), so both count.
public struct ResourceEstimate: Sendable, Equatable {
    /// A named part of the memory, e.g. `weights` or `VAE decode`.
    public struct Share: Sendable, Equatable {
        /// What holds the memory, for the message ("transformer at stage 2, 2 passes of 2144 tokens").
        public var name: String
        public var bytes: Int

        public init(_ name: String, bytes: Int) {
            self.name = name
            self.bytes = bytes
        }
    }

    /// One file a run writes and a bound on its size.
    public struct Output: Sendable, Equatable {
        /// The option that names it (`output`, `save-latents`, `preview`).
        public var option: String
        public var path: String
        public var bytes: Int

        public init(option: String, path: String, bytes: Int) {
            self.option = option
            self.path = path
            self.bytes = bytes
        }
    }

    /// Pixel frames, width and height of the video, for messages.
    public var frames: Int, width: Int, height: Int
    /// Held from start to end: the process and its libraries, the weights (16-bit matrices at
    /// their stored width, the rest as Float32), the threads' scratch for 16-bit products.
    public var resident: [Share]
    /// The largest denoising working set (nil for `decode`).
    public var denoise: Share?
    /// The decode's working set: VAE activations, frames in flight, the encoder's frames.
    public var decode: Share
    /// Denoisings that run beside one decode: 0 for `generate` and `decode` (one phase after
    /// the other), the lane count in a batch.
    public var denoisingBesideDecode: Int
    /// Files written: the video, the latents, the preview.
    public var outputs: [Output]

    public init(frames: Int, width: Int, height: Int, resident: [Share], denoise: Share?, decode: Share,
                denoisingBesideDecode: Int = 0, outputs: [Output] = []) {
        self.frames = frames
        self.width = width
        self.height = height
        self.resident = resident
        self.denoise = denoise
        self.decode = decode
        self.denoisingBesideDecode = denoisingBesideDecode
        self.outputs = outputs
    }

    /// Bytes of memory at the peak.
    public var peakMemoryBytes: Int {
        let held = resident.reduce(0) { $0 + $1.bytes }
        let denoising = denoise?.bytes ?? 0
        return held + (denoisingBesideDecode > 0
                       ? denoisingBesideDecode * denoising + decode.bytes : max(denoising, decode.bytes))
    }

    /// The shares that make up the peak, for messages: resident first, then the phases.
    public var peakShares: [Share] {
        var shares = resident
        if let denoise {
            let lanes = max(1, denoisingBesideDecode)
            shares.append(lanes > 1 ? Share("\(lanes) × \(denoise.name)", bytes: lanes * denoise.bytes) : denoise)
        }
        shares.append(decode)
        return shares
    }

    /// Refuses the request when its peak memory exceeds `memory`, or its outputs the free space
    /// of the file systems they go to (devices, FIFOs and stdout are not counted).
    /// - Parameters:
    ///   - memory: what the machine has (nil where it cannot be told: memory is not checked).
    ///   - freeSpace: free bytes of the file system an output path goes to, and a name for it;
    ///     injectable for tests, defaults to `statvfs` of the nearest existing folder.
    /// - Throws: `ResourceShortage` naming the estimate, its parts and the limit.
    public func check(memory: AvailableMemory?,
                      freeSpace: (String) -> DiskSpace? = DiskSpace.available(forOutputAt:)) throws(ResourceShortage) {
        if let memory, peakMemoryBytes > memory.bytes {
            throw ResourceShortage(.memory(needed: peakMemoryBytes, shares: peakShares, available: memory),
                                   video: self)
        }
        // Outputs on one file system share its free space.
        var byFileSystem: [(space: DiskSpace, outputs: [Output])] = []
        for output in outputs {
            guard let space = freeSpace(output.path) else { continue }
            if let i = byFileSystem.firstIndex(where: { $0.space.device == space.device }) {
                byFileSystem[i].outputs.append(output)
            } else {
                byFileSystem.append((space, [output]))
            }
        }
        for (space, outputs) in byFileSystem {
            let needed = outputs.reduce(0) { $0 + $1.bytes }
            if needed > space.freeBytes {
                throw ResourceShortage(.disk(needed: needed, outputs: outputs, free: space), video: self)
            }
        }
    }
}

// MARK: - Output sizes

extension MediaFormat {
    /// The most bytes a video of `frames` frames of `width`×`height` takes in this format.
    ///
    /// Uncompressed formats are exact but for their headers (Media writes yuv420p, 1.5 bytes per
    /// pixel, to y4m and nut, and rgb24, 3 bytes, as raw video); PNG frames are bounded by
    /// deflate's stored blocks (raw RGB plus a filter byte per row and the chunk headers). For
    /// H.264 and VP9 at `crf`, a bound rather than a prediction: 1.5 bytes per pixel (what
    /// lossless CRF 0 takes on noise) halved every 12 CRF steps, while a rate halves about every
    /// 6 (0.53 bytes per pixel at the default CRF 18; the shapes model's videos take under 0.05).
    public func sizeBound(frames: Int, width: Int, height: Int, crf: Int) -> Int {
        let pixels = width * height
        switch self {
        case .y4m: return 128 + frames * (6 + pixels * 3 / 2)
        case .nut: return 4096 + frames * (64 + pixels * 3 / 2)
        case .rawvideo: return frames * pixels * 3
        case .png: return frames * Self.pngBound(width: width, height: height)
        case .mp4, .mkv, .webm:
            return 65536 + Int((Double(frames * pixels) * 1.5 * pow(2, -Double(crf) / 12)).rounded(.up))
        }
    }

    /// The most bytes one RGB PNG of `width`×`height` takes (stored deflate blocks: 5 bytes per
    /// 64 KiB, a filter byte per row, 1 KiB of chunks).
    static func pngBound(width: Int, height: Int) -> Int {
        let raw = height * (1 + width * 3)
        return raw + 5 * (raw / 65535 + 1) + 1024
    }
}

extension GenerationRequest {
    /// The files this request writes, with a bound on each one's size: the video (unless it
    /// goes to stdout), the latents (exact: their floats and a header) and the preview (one PNG
    /// at full size). `latentChannels` sizes the latents file.
    public func outputSizes(latentChannels: Int) -> [ResourceEstimate.Output] {
        var outputs: [ResourceEstimate.Output] = []
        if case .file(let path) = output, let format = try? resolvedFormat() {
            outputs.append(.init(option: "output", path: path,
                                 bytes: format.sizeBound(frames: frames, width: width, height: height, crf: crf)))
        }
        if let saveLatentsPath {
            let floats = latentSize.extents.reduce(latentChannels, *)
            outputs.append(.init(option: "save-latents", path: saveLatentsPath,
                                 bytes: 8 + 4096 + prompt.utf8.count + (negativePrompt?.utf8.count ?? 0) + 4 * floats))
        }
        if let preview {
            outputs.append(.init(option: "preview", path: preview.path,
                                 bytes: MediaFormat.pngBound(width: width, height: height)))
        }
        return outputs
    }
}
