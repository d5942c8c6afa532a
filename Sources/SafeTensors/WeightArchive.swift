import Foundation
import Tensor

/// The weights of one model folder: a single `NAME.safetensors` or shards listed in
/// `NAME.safetensors.index.json` (`{"metadata": …, "weight_map": {key: shard file}}`).
public struct WeightArchive: Sendable {
    public let directory: String
    public let files: [SafeTensorsFile]
    /// Which file holds each tensor.
    private let location: [String: Int]

    /// Whether `directory` holds `baseName.safetensors` or its sharded index (what `init` opens).
    public static func exists(directory: String, baseName: String) -> Bool {
        let single = (directory as NSString).appendingPathComponent("\(baseName).safetensors")
        return FileManager.default.fileExists(atPath: single) || FileManager.default.fileExists(atPath: single + ".index.json")
    }

    /// Opens `directory/baseName.safetensors`, or its sharded index if that exists.
    public init(directory: String, baseName: String) throws {
        self.directory = directory
        let single = (directory as NSString).appendingPathComponent("\(baseName).safetensors")
        let index = single + ".index.json"
        let fm = FileManager.default
        if fm.fileExists(atPath: index) {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: index)) } catch {
                throw SafeTensorsError(.cannotRead(reason: (error as NSError).localizedDescription), file: index)
            }
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let map = object["weight_map"] as? [String: String] else {
                throw SafeTensorsError(.badIndex(reason: "no weight_map object"), file: index)
            }
            let shardNames = Array(Set(map.values)).sorted()
            for s in shardNames where s.contains("/") || s.hasPrefix(".") {
                throw SafeTensorsError(.badIndex(reason: "shard name '\(s)' leaves the folder"), file: index)
            }
            let files = try shardNames.map { try SafeTensorsFile(path: (directory as NSString).appendingPathComponent($0)) }
            var location: [String: Int] = [:]
            for (key, shard) in map {
                let i = shardNames.firstIndex(of: shard)!
                guard files[i].entries[key] != nil else {
                    throw SafeTensorsError(.badIndex(reason: "'\(key)' is listed in \(shard) but not stored there"), file: index)
                }
                location[key] = i
            }
            for (i, f) in files.enumerated() {
                for key in f.entries.keys where location[key] == nil { location[key] = i }
            }
            self.files = files
            self.location = location
        } else if fm.fileExists(atPath: single) {
            let f = try SafeTensorsFile(path: single)
            files = [f]
            location = Dictionary(uniqueKeysWithValues: f.entries.keys.map { ($0, 0) })
        } else {
            throw SafeTensorsError(.cannotRead(reason: "neither \(baseName).safetensors nor its .index.json exists"), file: directory)
        }
    }

    public var keys: [String] { location.keys.sorted() }

    public func shape(of key: String) -> [Int]? { location[key].flatMap { files[$0].entries[key]?.shape } }

    public func tensor(_ key: String) throws -> Tensor { try file(holding: key).tensor(key) }

    /// `key` as a weight matrix (`SafeTensorsFile.matrix`).
    public func matrix(_ key: String, precision: MatrixPrecision) throws -> WeightMatrix {
        try file(holding: key).matrix(key, precision: precision)
    }

    private func file(holding key: String) throws -> SafeTensorsFile {
        guard let i = location[key] else { throw SafeTensorsError(.missingTensor(key: key), file: directory) }
        return files[i]
    }

    /// Total bytes of stored tensor data.
    public var storedBytes: Int { files.reduce(0) { $0 + $1.entries.values.reduce(0) { $0 + $1.range.count } } }

    /// The tensors a model that reads `isMatrix` shapes as weight matrices keeps in 16 bits when
    /// it loads at `MatrixPrecision.stored`: its F16 and BF16 matrices (F32 ones are copied).
    public func storedMatrices(_ isMatrix: ([Int]) -> Bool) -> [(key: String, entry: SafeTensorsFile.Entry)] {
        files.flatMap { $0.entries.filter { Self.staysStored($0.value, isMatrix) }.map { ($0.key, $0.value) } }
    }

    /// Bytes the weights hold in memory once such a model has loaded them at `.stored`, from the
    /// headers alone: the files' data, which is mapped and touched by the load (kept matrices are
    /// read in place, everything else once by its conversion), plus a Float32 copy of each tensor
    /// that is converted.
    public func residentBytes(_ isMatrix: ([Int]) -> Bool) -> Int {
        files.flatMap(\.entries.values).reduce(storedBytes) { total, entry in
            total + (Self.staysStored(entry, isMatrix) ? 0 : entry.shape.reduce(1, *) * MemoryLayout<Float>.size)
        }
    }

    private static func staysStored(_ entry: SafeTensorsFile.Entry, _ isMatrix: ([Int]) -> Bool) -> Bool {
        entry.dtype != .f32 && isMatrix(entry.shape)
    }
}
