import Foundation
import Testing
@testable import SafeTensors
import Tensor

/// Builds raw safetensors bytes from a header string and a data section.
func rawFile(header: String, data: [UInt8]) -> Data {
    var d = Data()
    var n = UInt64(header.utf8.count).littleEndian
    withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
    d.append(contentsOf: Array(header.utf8))
    d.append(contentsOf: data)
    return d
}

@Suite struct SafeTensorsTests {
    let dir: String = {
        let p = NSTemporaryDirectory() + "st-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }()

    @Test func writeThenReadRoundTripsF32AndF16() throws {
        let a = Tensor(shape: [2, 3], data: [1, -2, 3.5, 0, 1e-3, 65504])
        let path = dir + "/m.safetensors"
        try SafeTensorsWriter.write([("a", a), ("b.c", Tensor(shape: [1], data: [7]))], to: path, metadata: ["format": "pt"])
        let f = try SafeTensorsFile(path: path)
        #expect(f.names == ["a", "b.c"])
        #expect(try f.tensor("a") == a)
        #expect(f.metadata["format"] == "pt")
        let path16 = dir + "/h.safetensors"
        try SafeTensorsWriter.write([("a", a)], to: path16, storage: .f16)
        let h = try SafeTensorsFile(path: path16).tensor("a")
        #expect(h.maxAbsDifference(a) < 1e-3)
    }

    @Test func hostileHeadersAreTypedErrors() {
        func parse(_ d: Data) -> SafeTensorsError.Kind? {
            do { _ = try SafeTensorsFile(path: "x.safetensors", data: d); return nil } catch let e as SafeTensorsError { return e.kind } catch { return nil }
        }
        #expect(parse(Data([1, 2, 3])) == .truncated(fileSize: 3))
        var huge = Data([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]); huge.append(contentsOf: [0x7b, 0x7d])
        #expect(parse(huge) == .headerBeyondFile(headerLength: 0x7fff_ffff_ffff_ffff, fileSize: 10))
        #expect(parse(rawFile(header: "{not json", data: [])) == .badHeader(reason: "not valid JSON at byte 9: Invalid value"))
        #expect(parse(rawFile(header: #"{"t":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)))
                == .unknownDType(tensor: "t", dtype: "I64"))
        #expect(parse(rawFile(header: #"{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: [0, 0, 0, 0]))
                == .offsetsOutOfRange(tensor: "t", begin: 0, end: 16, dataSize: 4))
        #expect(parse(rawFile(header: #"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)))
                == .byteCountMismatch(tensor: "t", shape: [3], dtype: "F32", bytes: 8))
        #expect(parse(rawFile(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: Array(repeating: 0, count: 12)))
                == .overlapping(tensor: "b", other: "a"))
    }

    /// Issue #16: a NaN or an infinity in a stored tensor is refused when the tensor is read,
    /// in every storage type, naming the file and the key; its neighbours still read.
    /// 20 elements each, little-endian: F32 NaN at 17; F16 +inf at 3 and -inf at 18; BF16 NaN at 19.
    @Test(arguments: [("F32", [17: [0x00, 0x00, 0xC0, 0x7F]]), ("F16", [3: [0x00, 0x7C], 18: [0x00, 0xFC]]),
                      ("BF16", [19: [0xC0, 0x7F]])] as [(String, [Int: [UInt8]])])
    func nonFiniteTensorIsAnErrorNamingFileAndKey(dtype: String, pokes: [Int: [UInt8]]) throws {
        let size = dtype == "F32" ? 4 : 2, zeros = [UInt8](repeating: 0, count: 20 * size)
        var bad = zeros
        for (element, bytes) in pokes { bad.replaceSubrange((element * size)..<((element + 1) * size), with: bytes) }
        let n = zeros.count, path = dir + "/\(dtype).safetensors"
        let header = #"{"bad":{"dtype":"\#(dtype)","shape":[4,5],"data_offsets":[0,\#(n)]},"#
            + #""good":{"dtype":"\#(dtype)","shape":[20],"data_offsets":[\#(n),\#(2 * n)]}}"#
        try rawFile(header: header, data: bad + zeros).write(to: URL(fileURLWithPath: path))
        let file = try SafeTensorsFile(path: path)
        #expect(try file.tensor("good") == Tensor(shape: [20], repeating: 0))
        let expected: NonFiniteValues = switch dtype {
        case "F16": NonFiniteValues(nanCount: 0, infiniteCount: 2, firstIndex: 3)
        case "F32": NonFiniteValues(nanCount: 1, infiniteCount: 0, firstIndex: 17)
        default: NonFiniteValues(nanCount: 1, infiniteCount: 0, firstIndex: 19)
        }
        let error = SafeTensorsError(.nonFinite(tensor: "bad", shape: [4, 5], values: expected), file: path)
        #expect(throws: error) { try file.tensor("bad") }
        #expect(error.description.hasPrefix("\(path): tensor 'bad' [4, 5] holds "))
        // Kept in 16 bits or expanded, a weight matrix is checked the same way.
        for precision in MatrixPrecision.allCases {
            #expect(throws: error) { try file.matrix("bad", precision: precision) }
        }
    }

    // MARK: - Weight matrices at their stored precision

    /// F16 and BF16 matrices stay 16-bit views of the mapped file (a conv kernel as `[out, rest]`)
    /// with the values the Float32 read gives; `.float32` expands them; F32 is Float32 either way.
    /// The BF16 writer rounds to nearest even, and a streamed write gives the same file.
    @Test(arguments: [StorageType.f16, .bf16, .f32])
    func matricesKeepTheirStoredPrecision(storage: StorageType) throws {
        let kernel = Tensor(shape: [4, 3, 1, 2, 2], data: (0..<48).map { Float($0) * 0.37 - 8 })
        let bias = Tensor(shape: [4], data: [0.1, 0.2, 0.3, 0.4])
        let path = dir + "/m-\(storage.rawValue).safetensors"
        try SafeTensorsWriter.write([("proj.weight", kernel), ("proj.bias", bias)], to: path, storage: storage)
        let streamed = dir + "/s-\(storage.rawValue).safetensors"
        try SafeTensorsWriter.write(names: ["proj.weight", "proj.bias"], shapes: [kernel.shape, bias.shape], to: streamed,
                                    storage: storage) { [kernel, bias][$0] }
        #expect(FileManager.default.contents(atPath: streamed) == FileManager.default.contents(atPath: path))

        let file = try SafeTensorsFile(path: path)
        let asFloat = try file.tensor("proj.weight")
        // Half a unit in the last place at |9.4|: float16 0.004, bfloat16 0.031.
        #expect(asFloat.maxAbsDifference(kernel) <= (storage == .f32 ? 0 : storage == .f16 ? 4e-3 : 0.032))
        let kept = try file.matrix("proj.weight", precision: .stored)
        #expect(kept.rows == 4 && kept.columns == 12)
        #expect(kept.precision == storage.precision && kept.storedBytes == 48 * storage.byteSize)
        #expect(kept.widened() == asFloat.data)
        let expanded = try file.matrix("proj.weight", precision: .float32)
        #expect(expanded.precision == .float32 && expanded.widened() == asFloat.data)
        // The view outlives the file value that mapped it.
        let view = try SafeTensorsFile(path: path).matrix("proj.weight", precision: .stored)
        #expect(view.widened() == asFloat.data)
        #expect(throws: SafeTensorsError(.missingTensor(key: "nope"), file: path)) { try file.matrix("nope", precision: .stored) }
    }

    /// An empty file, which cannot be mapped, is read instead and reported as truncated; a
    /// missing file names the system's reason.
    @Test func emptyAndMissingFilesAreTypedErrors() throws {
        let empty = dir + "/empty.safetensors"
        FileManager.default.createFile(atPath: empty, contents: Data())
        #expect(throws: SafeTensorsError(.truncated(fileSize: 0), file: empty)) { try SafeTensorsFile(path: empty) }
        #expect(throws: SafeTensorsError(.cannotRead(reason: "No such file or directory"), file: dir + "/none")) {
            try SafeTensorsFile(path: dir + "/none")
        }
    }

    /// A reader built for `.float32` expands 16-bit matrices; its shape check comes first.
    @Test func weightReaderReadsMatricesAtItsPrecision() throws {
        let folder = dir + "/reader"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try SafeTensorsWriter.write([("w", Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]))],
                                    to: folder + "/model.safetensors", storage: .bf16)
        let archive = try WeightArchive(directory: folder, baseName: "model")
        #expect(try WeightReader(archive).matrix("w", shape: [2, 3]).precision == .bfloat16)
        #expect(try WeightReader(archive, matrices: .float32).matrix("w", shape: [2, 3]).precision == .float32)
        #expect(throws: SafeTensorsError(.shapeMismatch(key: "w", expected: [3, 2], found: [2, 3]), file: folder)) {
            try WeightReader(archive).matrix("w", shape: [3, 2])
        }
    }

    @Test func weightReaderChecksShapesAndUnreadKeys() throws {
        let sub = dir + "/model"
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        try SafeTensorsWriter.write([("blk.w", Tensor(shape: [2, 2], repeating: 1)), ("blk.b", Tensor(shape: [2], repeating: 0)), ("extra", Tensor(shape: [1], repeating: 0))],
                                    to: sub + "/diffusion_pytorch_model.safetensors")
        let reader = WeightReader(try WeightArchive(directory: sub, baseName: "diffusion_pytorch_model"))
        let blk = reader.scope("blk")
        #expect(try blk.tensor("w", shape: [2, 2]).data == [1, 1, 1, 1])
        #expect(throws: SafeTensorsError(.shapeMismatch(key: "blk.b", expected: [3], found: [2]), file: sub)) {
            try blk.tensor("b", shape: [3])
        }
        #expect(throws: SafeTensorsError(.missingTensor(key: "blk.q"), file: sub)) { try blk.tensor("q", shape: [1]) }
        _ = try blk.tensor("b", shape: [2])
        #expect(throws: SafeTensorsError(.unexpectedTensors(keys: ["extra"]), file: sub)) { try reader.finish() }
        try reader.finish(ignoringPrefixes: ["extra"])
    }

    @Test func shardedIndexIsFollowed() throws {
        let sub = dir + "/sharded"
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        try SafeTensorsWriter.write([("a", Tensor(shape: [1], data: [1]))], to: sub + "/m-00001-of-00002.safetensors")
        try SafeTensorsWriter.write([("b", Tensor(shape: [1], data: [2]))], to: sub + "/m-00002-of-00002.safetensors")
        let index = #"{"metadata":{},"weight_map":{"a":"m-00001-of-00002.safetensors","b":"m-00002-of-00002.safetensors"}}"#
        try index.write(toFile: sub + "/m.safetensors.index.json", atomically: true, encoding: .utf8)
        let archive = try WeightArchive(directory: sub, baseName: "m")
        #expect(archive.keys == ["a", "b"])
        #expect(try archive.tensor("b").data == [2])
        let bad = #"{"metadata":{},"weight_map":{"a":"m-00002-of-00002.safetensors"}}"#
        try bad.write(toFile: sub + "/m.safetensors.index.json", atomically: true, encoding: .utf8)
        #expect(throws: SafeTensorsError.self) { try WeightArchive(directory: sub, baseName: "m") }
    }
}
