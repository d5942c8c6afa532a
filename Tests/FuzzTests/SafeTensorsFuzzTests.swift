import Foundation
import PropertyBased
import SafeTensors
import Tensor
import TestSupport
import Testing

/// The safetensors header parser (`SafeTensorsFile(path:data:)`), which every weight file and
/// `--save-latents` file goes through, on mutated real files and hand-made hostile headers.
@Suite(.fuzzTimeLimit) struct SafeTensorsFuzzTests {
    static let path = "fuzz/model.safetensors"

    /// A real fixture (93 tensors, F32) and two small files from the project's own writer.
    static func corpus() throws -> [[UInt8]] {
        let fixture = URL(fileURLWithPath: TestPaths.fixture("transformer-test/io.safetensors"))
        let small = try SafeTensorsWriter.encode(
            [("a.weight", Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])), ("b", Tensor(shape: [4]))],
            metadata: ["format": "pt"])
        let half = try SafeTensorsWriter.encode([("h", Tensor(shape: [1, 2, 2], data: [0.5, -1, 2, 3]))], storage: .f16)
        return [Array(try Data(contentsOf: fixture)), Array(small), Array(half)]
    }

    /// Parses `bytes`: a file it accepts must read every tensor without trapping; a file it
    /// refuses must be refused with a `SafeTensorsError` naming the file and the place.
    static func check(_ bytes: [UInt8], _ label: String) {
        do {
            let file = try SafeTensorsFile(path: path, data: Data(bytes))
            for name in file.names {
                do { _ = try file.tensor(name) } catch let error as SafeTensorsError {
                    expectNamesFileAndPlace(error, label)  // e.g. a flipped bit made a NaN
                } catch { Issue.record("\(label): untyped error \(error)") }
            }
        } catch let error as SafeTensorsError {
            expectNamesFileAndPlace(error, label)
        } catch {
            Issue.record("\(label): untyped error \(error)")
        }
    }

    /// The message starts with the file and names the tensor or the header (with an offset or
    /// length where the header itself is broken).
    static func expectNamesFileAndPlace(_ error: SafeTensorsError, _ label: String) {
        let text = error.description
        #expect(text.hasPrefix("\(path): "), "\(label): \(text)")
        #expect(text.contains("tensor '") || text.contains("header"), "\(label): \(text)")
    }

    /// A file with an 8-byte header length, the header text and `dataBytes` zero bytes.
    static func file(header: String, dataBytes: Int = 0, length: UInt64? = nil) -> [UInt8] {
        let text = Array(header.utf8)
        let n = length ?? UInt64(text.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + text + [UInt8](repeating: 0, count: dataBytes)
    }

    // MARK: Random and mutated files

    @Test func mutatedFilesAreReadOrRefusedWithFileAndPlace() throws {
        let n = try fuzz(corpus: Self.corpus(), seedBase: 0x5AFE, Self.check)
        #expect(n >= 50)
    }

    @Test func everyTruncationIsRefusedWithFileAndPlace() throws {
        for (i, input) in try Self.corpus().dropFirst().enumerated() {
            for cut in truncations(of: input) { Self.check(cut, "corpus \(i + 1) cut to \(cut.count)") }
        }
    }

    @Test func randomBytesAreRefused() throws {
        var seed = FuzzSeed(0xB17E5)
        let generator = Gen.uint8().array(of: 0...512)
        for i in 0..<400 {
            var bytes = seed.next(generator)
            // Half the inputs get a plausible length, so the JSON parser sees random bytes too.
            if i % 2 == 0, bytes.count >= 8 {
                let n = UInt64(bytes.count - 8)
                for k in 0..<8 { bytes[k] = UInt8(truncatingIfNeeded: n >> (8 * UInt64(k))) }
            }
            Self.check(bytes, "random \(i)")
        }
    }

    // MARK: Lengths and numbers that would make a naive reader allocate or trap

    /// A header length of 2^60 (or any length past the file) is refused from the 8 bytes that
    /// hold it, before anything is allocated for the header.
    @Test(arguments: [UInt64(1) << 60, UInt64(1) << 63, .max, 1 << 32, 63])
    func headerLengthPastTheFileIsRefused(length: UInt64) throws {
        let bytes = Self.file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, dataBytes: 4, length: length)
        #expect(throws: SafeTensorsError(.headerBeyondFile(headerLength: length, fileSize: bytes.count), file: Self.path)) {
            try SafeTensorsFile(path: Self.path, data: Data(bytes))
        }
    }

    /// Shapes whose element count overflows `Int`, or far exceeds the data, are refused by the
    /// byte-count check (overflow-checked), so no tensor of that size is ever allocated.
    @Test(arguments: [
        "[4294967296,4294967296,4294967296]", "[9223372036854775807,2]", "[1000000000000000,1000000000000000]",
        "[3037000500,3037000500]", "[0,1000000000000000,1000000000000000]", "[1e15,1e15]", "[1e300]", "[-1]", "[1.5]",
        "[18446744073709551616]", "[" + Array(repeating: "65536", count: 64).joined(separator: ",") + "]",
    ])
    func hugeOrOverflowingShapesAreRefused(shape: String) throws {
        let bytes = Self.file(header: #"{"t":{"dtype":"F32","shape":\#(shape),"data_offsets":[0,16]}}"#, dataBytes: 16)
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: Self.path, data: Data(bytes)) }
        Self.check(bytes, "shape \(shape)")
    }

    @Test(arguments: [
        "[0,18446744073709551616]", "[0,9223372036854775807]", "[-4,0]", "[8,4]", "[0,1e300]", "[0]", "[0,4,8]",
        "\"0-4\"", "[null,4]",
    ])
    func hostileDataOffsetsAreRefused(offsets: String) throws {
        let bytes = Self.file(header: #"{"t":{"dtype":"F32","shape":[1],"data_offsets":\#(offsets)}}"#, dataBytes: 4)
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: Self.path, data: Data(bytes)) }
        Self.check(bytes, "offsets \(offsets)")
    }

    /// Foundation's parser limits nesting (512), so a deeply nested header is an error, not a
    /// stack overflow; anywhere in the header (metadata, an entry, the top level).
    @Test(arguments: [600, 100_000])
    func deeplyNestedHeadersAreRefused(depth: Int) throws {
        for header in [
            deeplyNestedJSON(depth: depth),
            #"{"__metadata__":{"k":\#(deeplyNestedJSON(depth: depth))}}"#,
            #"{"t":{"dtype":"F32","shape":\#(deeplyNestedJSON(depth: depth)),"data_offsets":[0,4]}}"#,
        ] {
            let bytes = Self.file(header: header, dataBytes: 4)
            #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: Self.path, data: Data(bytes)) }
            Self.check(bytes, "depth \(depth)")
        }
    }

    // MARK: Messages

    /// Issue #16: a header that is not JSON said only "not valid JSON"; the message now gives
    /// the byte of the file where the JSON parser stopped.
    @Test func invalidHeaderJSONNamesTheFileOffset() throws {
        let bytes = Self.file(header: #"{"a": x}"#)
        #expect(throws: SafeTensorsError(.badHeader(reason: "not valid JSON at byte 14: Invalid value"), file: Self.path)) {
            try SafeTensorsFile(path: Self.path, data: Data(bytes))
        }
        let cut = Self.file(header: #"{"a": {"#)
        #expect(throws: SafeTensorsError(
            .badHeader(reason: "not valid JSON at byte 15: Unexpected end of file during JSON parse"), file: Self.path)) {
            try SafeTensorsFile(path: Self.path, data: Data(cut))
        }
    }
}
