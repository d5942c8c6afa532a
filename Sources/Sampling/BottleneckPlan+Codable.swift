import Diagnostics
import Foundation

// MARK: - JSON
//
// ```json
// { "name": "hunyuan", "reading": "B", "transition": "restart", "base_steps": 50, "base_shift": 7,
//   "filters": { "upsampling": "lanczos3", "downsampling": "lanczos3" },
//   "ablations": { "reshift": true, "renoise": true, "bottleneck": true },
//   "stages": [ { "steps": 4,  "shift": 7, "strength": 1,   "scale": 1 },
//               { "steps": 24, "shift": 9, "strength": 0.8,
//                 "scale": { "frames": 1, "height": 0.7556, "width": 0.75 } },
//               { "steps": 16, "shift": 9, "strength": 0.7,
//                 "latent": { "frames": 33, "height": 16, "width": 16 } } ] }
// ```
// `scale` is a spatial fraction of the base (frames unchanged) or per-axis fractions; `latent`
// gives latent cells. Absent optional keys take the defaults of `BottleneckPlan`.

extension BottleneckStage: Codable {
    enum CodingKeys: String, CodingKey { case steps, shift, strength, scale, latent }
    /// Keys of `latent` (cells) and of a per-axis `scale` (fractions).
    enum AxisKeys: String, CodingKey { case frames, height, width }
    struct Fractions: Encodable { var frames: Double?; var height: Double; var width: Double }

    /// Every number is checked against `BottleneckPlan.Bounds` as it is read.
    public init(from decoder: any Decoder) throws {
        typealias Bounds = BottleneckPlan.Bounds
        let c = try decoder.container(keyedBy: CodingKeys.self)
        steps = try c.decode(.steps, within: Bounds.steps)
        shift = try c.decode(.shift, within: Bounds.shift)
        strength = try c.decodeIfPresent(.strength, within: Bounds.strength) ?? 1
        if c.contains(.latent) {
            let axes = try c.nestedContainer(keyedBy: AxisKeys.self, forKey: .latent)
            resolution = .latent(LatentSize(frames: try axes.decode(.frames, within: Bounds.latentFrames),
                                            height: try axes.decode(.height, within: Bounds.latentSide),
                                            width: try axes.decode(.width, within: Bounds.latentSide)))
        } else if let axes = try? c.nestedContainer(keyedBy: AxisKeys.self, forKey: .scale) {
            resolution = .fraction(frames: try axes.decodeIfPresent(.frames, within: Bounds.scale) ?? 1,
                                   height: try axes.decode(.height, within: Bounds.scale),
                                   width: try axes.decode(.width, within: Bounds.scale))
        } else if c.contains(.scale) {
            resolution = .spatial(try c.decode(.scale, within: Bounds.scale))
        } else {
            resolution = .full
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(steps, forKey: .steps)
        try c.encode(shift, forKey: .shift)
        try c.encode(strength, forKey: .strength)
        switch resolution {
        case let .latent(size):
            try c.encode(size, forKey: .latent)
        case let .fraction(f, h, w) where f == 1 && h == w:
            try c.encode(h, forKey: .scale)
        case let .fraction(f, h, w):
            try c.encode(Fractions(frames: f, height: h, width: w), forKey: .scale)
        }
    }
}

extension BottleneckPlan: Codable {
    enum CodingKeys: String, CodingKey {
        case name, stages, reading, transition, filters, ablations
        case baseSteps = "base_steps"
        case baseShift = "base_shift"
    }

    /// Every number is checked against `Bounds` as it is read, then the stages' number and
    /// their steps together.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? "custom"
        stages = try c.decode([BottleneckStage].self, forKey: .stages)
        if let (key, violation) = Self.totalsViolation(stages) {
            throw PlanValueOutOfBounds(key: key, violation: violation)
        }
        reading = try c.decodeIfPresent(StrengthReading.self, forKey: .reading) ?? .img2img
        transition = try c.decodeIfPresent(TransitionMode.self, forKey: .transition) ?? .restart
        filters = try c.decodeIfPresent(TransitionFilters.self, forKey: .filters) ?? TransitionFilters()
        ablations = try c.decodeIfPresent(Ablations.self, forKey: .ablations) ?? Ablations()
        baseSteps = try c.decodeIfPresent(.baseSteps, within: Bounds.steps) ?? 50
        baseShift = try c.decodeIfPresent(.baseShift, within: Bounds.shift) ?? stages.first?.shift ?? 1
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(reading, forKey: .reading)
        try c.encode(transition, forKey: .transition)
        try c.encode(baseSteps, forKey: .baseSteps)
        try c.encode(baseShift, forKey: .baseShift)
        try c.encode(filters, forKey: .filters)
        try c.encode(ablations, forKey: .ablations)
        try c.encode(stages, forKey: .stages)
    }

    /// Decodes a plan from JSON; `file` names the source in errors.
    /// - Throws: `SamplingError`: `badJSON` for a document that is not a plan, `outOfBounds`
    ///   naming the key of a value outside `Bounds`.
    public init(json: Data, file: String = "<string>") throws {
        do {
            self = try JSONDecoder().decode(BottleneckPlan.self, from: json)
        } catch let error as DecodingError {
            throw SamplingError(.badJSON(file: file, message: Self.describe(error, in: json)))
        } catch let error as PlanValueOutOfBounds {
            throw SamplingError(.outOfBounds(file: file, key: error.key, violation: error.violation))
        }
    }

    /// Reads a plan file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw SamplingError(.badJSON(file: url.path, message: "cannot read: \(error.localizedDescription)"))
        }
        try self.init(json: data, file: url.path)
    }

    /// Pretty-printed JSON with sorted keys.
    public func jsonData() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(self)
    }

    /// Writes the plan as JSON to `url`.
    public func write(to url: URL) throws { try jsonData().write(to: url) }

    /// A coding path as `stages[1].latent.height`.
    static func keyPath(_ p: [any CodingKey]) -> String {
        let text = p.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return text.hasPrefix(".") ? String(text.dropFirst()) : text
    }

    /// The decoder's message after the key path it names (`top level` for the document), or
    /// for a document that is not JSON at all, the line and column the JSON parser stops at.
    private static func describe(_ error: DecodingError, in json: Data) -> String {
        func path(_ p: [any CodingKey]) -> String { p.isEmpty ? "top level" : keyPath(p) }
        switch error {
        case let .keyNotFound(key, ctx): return "missing key \(path(ctx.codingPath + [key]))"
        case let .dataCorrupted(ctx) where ctx.codingPath.isEmpty:
            return JSONSyntaxProblem(data: json).map { "not valid JSON: \($0.description)" }
                ?? "top level: \(ctx.debugDescription)"
        case let .typeMismatch(_, ctx), let .valueNotFound(_, ctx), let .dataCorrupted(ctx):
            return "\(path(ctx.codingPath)): \(ctx.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

// MARK: - Compact syntax

extension BottleneckPlan {
    /// Parses the CLI syntax `steps@scale[:shift[:strength]]`, comma separated, e.g.
    /// `4@1,10@0.5,4@1` or `4@1:7,24@0.75:9:0.8,16@1:9:0.7`. `scale` is the spatial fraction of
    /// the base (frames unchanged). Omitted shifts take `baseShift`; omitted strengths are 1 for
    /// stage 0 and 0.8 (the paper's bottleneck value) for later stages. Every number is checked
    /// against `Bounds`.
    /// - Throws: `SamplingError.badToken` naming the token and what is wrong with it;
    ///   `outOfBounds` for too many stages or steps over all of them.
    public init(parsing text: String, baseSteps: Int = 50, baseShift: Double = 7) throws {
        let tokens = text.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        var stages: [BottleneckStage] = []
        for (i, token) in tokens.enumerated() {
            func bad(_ reason: String) -> SamplingError {
                SamplingError(.badToken(token: token, position: i, reason: reason))
            }
            func number<Bound: NumericBound>(_ name: String, _ text: Substring, _ bound: Bound) throws -> Bound.Value {
                do throws(BoundViolation) { return try bound.parse(String(text)) } catch { throw bad("\(name) \(error)") }
            }
            let halves = token.split(separator: "@", omittingEmptySubsequences: false)
            guard halves.count == 2 else { throw bad("needs exactly one '@'") }
            let steps = try number("steps", halves[0], Bounds.steps)
            let fields = halves[1].split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count <= 3 else { throw bad("at most scale:shift:strength after '@'") }
            let scale = try number("scale", fields[0], Bounds.scale)
            let shift = fields.count > 1 ? try number("shift", fields[1], Bounds.shift) : baseShift
            let strength = fields.count > 2 ? try number("strength", fields[2], Bounds.strength) : i == 0 ? 1.0 : 0.8
            stages.append(BottleneckStage(resolution: .spatial(scale), steps: steps, shift: shift, strength: strength))
        }
        if let (key, violation) = Self.totalsViolation(stages) {
            throw SamplingError(.outOfBounds(file: nil, key: key, violation: violation))
        }
        self.init(name: "custom", stages: stages, baseSteps: baseSteps, baseShift: baseShift)
    }
}
