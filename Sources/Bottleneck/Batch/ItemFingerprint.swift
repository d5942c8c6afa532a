import Foundation

/// FNV-1a 64 of bytes as 16 lower-case hex digits: stable across runs, processes and platforms
/// (Swift's `Hasher` is seeded per process). Not cryptographic; it tells versions apart.
enum ContentHash {
    static func fnv1a64<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// Everything that decides a batch item's video, hashed, so `--resume` keeps a finished video
/// only if it would be made the same way again: the prompt (its hash), the seed, the recorded
/// settings (`ManifestRecord.Settings`: frames, size, steps, plan, guidance, negative prompt,
/// fps, crf, container), the contents of a plan file (not only its path), and the pipeline
/// that generates it (its folder's name, as the video's metadata records it: weights retrained
/// in place under the same name are not noticed).
enum ItemFingerprint {
    static func of(_ request: GenerationRequest, promptHash: String, pipeline: String?) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let settings = (try? encoder.encode(ManifestRecord.Settings(request)))
            .map { String(decoding: $0, as: UTF8.self) }
        var planContents = "-"
        if case .file(let path) = request.bottleneck {
            // Unreadable here means the item was already refused while its steps were taken.
            planContents = FileManager.default.contents(atPath: path).map { ContentHash.fnv1a64($0) } ?? "unreadable"
        }
        let lines = [
            "prompt \(promptHash)", "seed \(request.seed.map(String.init) ?? "-")", "settings \(settings ?? "-")",
            "plan \(planContents)", "pipeline \(pipeline ?? "-")",
        ]
        return ContentHash.fnv1a64(lines.joined(separator: "\n").utf8)
    }
}
