import Foundation
import PropertyBased
import Testing

/// How long and how hard the parser fuzz tests run.
///
/// By default every test runs a fixed number of mutated inputs from fixed seeds (the same inputs
/// on every run, so a failure reproduces), stopping early at `slice` seconds so the whole suite
/// stays within about 20 s in CI even on a loaded machine. `BOTTLENECK_FUZZ_SECONDS=N` runs each
/// test for N seconds instead, from further seeds, for a longer search on a developer machine.
enum FuzzBudget {
    /// Seconds one test may run: `BOTTLENECK_FUZZ_SECONDS`, or 4.
    static let slice: Double = {
        guard let text = ProcessInfo.processInfo.environment["BOTTLENECK_FUZZ_SECONDS"],
              let seconds = Double(text), seconds > 0 else { return 4 }
        return seconds
    }()
    /// Inputs one test runs before the time slice ends: 1500 by default, unlimited with
    /// `BOTTLENECK_FUZZ_SECONDS`.
    static let iterations = ProcessInfo.processInfo.environment["BOTTLENECK_FUZZ_SECONDS"] == nil ? 1500 : Int.max
    /// The longest one input may take to be parsed or refused. Every input here is at most a
    /// few hundred KiB; the parsers take milliseconds, so this only trips on a super-linear
    /// loop (a hang is stopped by each test's `.timeLimit`).
    static let perInputSeconds: Double = 2
    /// `BOTTLENECK_FUZZ_TRACE=1` prints each input's label to stderr before it is parsed, so a
    /// hang names the input (seed, index, mutations) that caused it.
    static let trace = ProcessInfo.processInfo.environment["BOTTLENECK_FUZZ_TRACE"] != nil
}

extension Trait where Self == TimeLimitTrait {
    /// The hang guard of every fuzz test: 10 minutes, or eight slices when that is longer.
    /// Generous because a test's time counts from when it is scheduled, and on a 2-core
    /// machine a parallel run queues the synchronous fuzz loops behind one another.
    static var fuzzTimeLimit: Self { .timeLimit(.minutes(max(10, Int(FuzzBudget.slice * 8 / 60) + 1))) }
}

/// A fixed-seed random source for `PropertyBased` generators: seed `n` of a test is always the
/// same sequence, so a reported failure (`seed n, input i`) reruns exactly.
struct FuzzSeed {
    var rng: Xoshiro
    init(_ n: UInt64) { rng = Xoshiro(seed: (0x9E37_79B9_7F4A_7C15, n, ~n, 0xB0_771E_4EC4)) }

    mutating func next<Value, S>(_ generator: Generator<Value, S>) -> Value { generator.run(using: &rng) }
}

/// One change to an input's bytes, chosen by `Mutation.generator`.
enum Mutation: Sendable, CustomStringConvertible {
    case flipBit(position: Int, bit: Int)
    case setByte(position: Int, value: UInt8)
    case truncate(length: Int)
    case insert(position: Int, bytes: [UInt8])
    case delete(position: Int, count: Int)
    /// Repeats `count` bytes at `position` `times` times (long runs, repeated keys).
    case repeatSlice(position: Int, count: Int, times: Int)
    /// Replaces the run of ASCII digits nearest after `position` (or inserts at it) with `text`.
    case number(position: Int, text: String)

    /// Numbers that break naive parsers: past Int64 and UInt64, past Double, negative zero, NaN-ish.
    static let hostileNumbers = [
        "18446744073709551616", "9223372036854775808", "-9223372036854775809", "1152921504606846976",
        "99999999999999999999999999999999", "1e308", "1e400", "-1e400", "-0", "0.5", "1e-400", "NaN",
        "Infinity", "4294967296", "2147483648", "-1", "0", "65536",
    ]
    /// Byte sequences that are not UTF-8 (a lone continuation byte, an overlong encoding, a
    /// surrogate, a truncated sequence, bytes never used in UTF-8) plus NUL and quote characters.
    static let hostileBytes: [[UInt8]] = [
        [0x80], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xFF, 0xFE], [0xF8, 0x88, 0x80, 0x80, 0x80],
        [0x00], [0x22], [0x22, 0x22, 0x22], [0x5C], [0x0D], [0x0A], [0x2C], [0x7B], [0x5B], [0x5D, 0x7D],
    ]

    /// A random mutation; positions are taken modulo the input's length when applied.
    static let generator = zip(
        Gen.int(in: 0...7), Gen.int(in: 0...Int(Int32.max)), Gen.uint8(), Gen.uint8().array(of: 0...48)
    ).map { (draw: (Int, Int, UInt8, [UInt8])) -> Mutation in
        let (kind, position, byte, bytes) = draw
        return switch kind {
        case 0: .flipBit(position: position, bit: Int(byte % 8))
        case 1: .setByte(position: position, value: byte)
        case 2: .truncate(length: position)
        case 3: .insert(position: position, bytes: bytes)
        case 4: .insert(position: position, bytes: hostileBytes[Int(byte) % hostileBytes.count])
        case 5: .delete(position: position, count: Int(byte))
        case 6: .repeatSlice(position: position, count: 1 + Int(byte % 32), times: 1 + bytes.count * 4)
        default: .number(position: position, text: hostileNumbers[Int(byte) % hostileNumbers.count])
        }
    }

    /// One to four mutations, applied in order.
    static let stack = generator.array(of: 1...4)

    func apply(to input: [UInt8]) -> [UInt8] {
        var bytes = input
        func at(_ p: Int) -> Int { bytes.isEmpty ? 0 : p % (bytes.count + 1) }
        switch self {
        case .flipBit(let p, let bit):
            guard !bytes.isEmpty else { break }
            bytes[p % bytes.count] ^= 1 << UInt8(bit)
        case .setByte(let p, let value):
            guard !bytes.isEmpty else { break }
            bytes[p % bytes.count] = value
        case .truncate(let length):
            bytes.removeLast(bytes.count - at(length))
        case .insert(let p, let new):
            bytes.insert(contentsOf: new, at: at(p))
        case .delete(let p, let count):
            let start = at(p)
            bytes.removeSubrange(start..<min(bytes.count, start + count))
        case .repeatSlice(let p, let count, let times):
            let start = at(p)
            let slice = bytes[start..<min(bytes.count, start + count)]
            bytes.insert(contentsOf: Array(repeating: Array(slice), count: times).joined(), at: start)
        case .number(let p, let text):
            let start = at(p)
            let isDigit = { (b: UInt8) in (0x30...0x39).contains(b) }
            let digits = bytes[start...].firstIndex(where: isDigit) ?? start
            let end = bytes[digits...].firstIndex(where: { !isDigit($0) }) ?? bytes.count
            bytes.replaceSubrange(digits..<end, with: Array(text.utf8))
        }
        return bytes
    }

    var description: String {
        switch self {
        case .flipBit(let p, let bit): "flip bit \(bit) at \(p)"
        case .setByte(let p, let v): "set byte \(p) to \(v)"
        case .truncate(let n): "truncate to \(n)"
        case .insert(let p, let b): "insert \(b.count) bytes at \(p)"
        case .delete(let p, let n): "delete \(n) at \(p)"
        case .repeatSlice(let p, let n, let t): "repeat \(n) bytes at \(p) \(t) times"
        case .number(let p, let text): "number \(text) near \(p)"
        }
    }
}

/// Nested JSON arrays and objects `depth` deep, with `leaf` in the middle (a stack-depth probe).
func deeplyNestedJSON(depth: Int, leaf: String = "1") -> String {
    String(repeating: "[{\"a\":", count: depth / 2) + leaf + String(repeating: "}]", count: depth / 2)
}

/// Runs `body` and expects it to finish within `FuzzBudget.perInputSeconds`.
func expectInTime(_ label: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation,
                  _ body: () throws -> Void) rethrows {
    let clock = ContinuousClock()
    let begin = clock.now
    try body()
    let seconds = (clock.now - begin) / .seconds(1)
    #expect(seconds < FuzzBudget.perInputSeconds, "\(label()): took \(seconds) s", sourceLocation: sourceLocation)
}

/// Runs `check` on the corpus inputs as they are, then on mutated copies from fixed seeds until
/// `FuzzBudget` ends the run; each input must be handled within `FuzzBudget.perInputSeconds`.
/// - Returns: the number of inputs checked.
@discardableResult
func fuzz(
    corpus: [[UInt8]], seedBase: UInt64, sourceLocation: SourceLocation = #_sourceLocation,
    _ check: ([UInt8], _ label: String) throws -> Void
) throws -> Int {
    let clock = ContinuousClock()
    let start = clock.now
    var checked = 0
    func timed(_ input: [UInt8], _ label: String) throws {
        if FuzzBudget.trace { FileHandle.standardError.write(Data("fuzz: \(label) (\(input.count) bytes)\n".utf8)) }
        try expectInTime("\(label) (\(input.count) bytes)", sourceLocation: sourceLocation) { try check(input, label) }
        checked += 1
    }
    for (i, input) in corpus.enumerated() { try timed(input, "corpus \(i)") }
    var seed = FuzzSeed(seedBase)
    var index = 0
    while checked < FuzzBudget.iterations, (clock.now - start) / .seconds(1) < FuzzBudget.slice {
        let base = corpus[index % corpus.count]
        let mutations = seed.next(Mutation.stack)
        let input = mutations.reduce(base) { $1.apply(to: $0) }
        try timed(input, "seed \(seedBase), input \(index): corpus \(index % corpus.count), \(mutations)")
        index += 1
    }
    return checked
}

/// Every truncation of `input` (lengths 0 through `input.count - 1`).
func truncations(of input: [UInt8]) -> [[UInt8]] {
    (0..<input.count).map { Array(input[..<$0]) }
}

/// A fresh temporary folder for files a parser reads from disk.
func makeFuzzDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}
