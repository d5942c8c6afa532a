import Foundation

/// The procedural "shapes" world the default pipeline is trained on, as `world_spec.json`
/// describes it (Scripts/training/world.py reads the same file). Colours are 0–255 sRGB as
/// rendered. Shape geometry and motion trajectories are code (`WorldShape`, `WorldMotion`); this
/// struct holds the data part: names and colour values.
public struct WorldSpec: Sendable, Equatable {
    /// Background name → RGB.
    public var backgrounds: [String: RGB]
    /// Object colour name → RGB.
    public var colors: [String: RGB]
    /// Shape names, as in the spec (`circle`, `square`, `triangle`, `diamond`).
    public var shapes: [String]
    /// Motion names, as in the spec (`moving left`, …, `standing still`).
    public var motions: [String]
    /// Object colours the generator uses on each background (`allowed_colors_per_background`).
    public var allowedColors: [String: [String]]
    /// `min_contrast_rgb_distance`: smallest RGB distance between an object and its background.
    public var minContrast: Double

    public init(
        backgrounds: [String: RGB], colors: [String: RGB], shapes: [String], motions: [String],
        allowedColors: [String: [String]], minContrast: Double
    ) {
        self.backgrounds = backgrounds
        self.colors = colors
        self.shapes = shapes
        self.motions = motions
        self.allowedColors = allowedColors
        self.minContrast = minContrast
    }

    /// Reads and checks `world_spec.json`.
    /// - Throws: `EvaluationError.Kind.cannotRead` or `.badSpec` naming the key at fault.
    public init(contentsOf path: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw EvaluationError(.cannotRead(reason: error.localizedDescription), file: path)
        }
        try self.init(json: data, file: path)
    }

    /// Decodes the spec from JSON bytes; `file` is used in error messages.
    public init(json: Data, file: String) throws {
        let raw: RawSpec
        do { raw = try JSONDecoder().decode(RawSpec.self, from: json) } catch {
            throw EvaluationError(.badSpec(reason: "\(error)"), file: file)
        }
        func rgb(_ table: [String: [Double]], _ key: String) throws -> [String: RGB] {
            var out: [String: RGB] = [:]
            for (name, v) in table {
                guard v.count == 3, v.allSatisfy({ (0...255).contains($0) }) else {
                    throw EvaluationError(
                        .badSpec(reason: "\(key).\(name) must be three values in 0...255, found \(v)"),
                        file: file)
                }
                out[name] = RGB(v[0], v[1], v[2])
            }
            guard !out.isEmpty else {
                throw EvaluationError(.badSpec(reason: "\(key) is empty"), file: file)
            }
            return out
        }
        backgrounds = try rgb(raw.backgrounds, "backgrounds")
        colors = try rgb(raw.colors, "colors")
        for s in raw.shapes where WorldShape(rawValue: s) == nil {
            throw EvaluationError(.badSpec(reason: "shape '\(s)' has no known geometry"), file: file)
        }
        for m in raw.motions where WorldMotion(rawValue: m) == nil {
            throw EvaluationError(.badSpec(reason: "motion '\(m)' has no known trajectory"), file: file)
        }
        shapes = raw.shapes
        motions = raw.motions
        allowedColors = raw.allowed_colors_per_background ?? [:]
        for (bg, list) in allowedColors {
            for c in list where colors[c] == nil {
                throw EvaluationError(
                    .badSpec(reason: "allowed_colors_per_background.\(bg) names unknown colour '\(c)'"),
                    file: file)
            }
        }
        minContrast = raw.min_contrast_rgb_distance ?? 110
    }

    /// Object colours that can appear on `background`: the spec's allowed list, or else every
    /// colour at least `minContrast` away from it. Sorted by name (deterministic).
    public func candidateColors(on background: String) -> [String] {
        if let list = allowedColors[background] { return list.sorted() }
        guard let bg = backgrounds[background] else { return colors.keys.sorted() }
        return colors.filter { $0.value.distance(to: bg) >= minContrast }.keys.sorted()
    }

    private struct RawSpec: Decodable {
        var backgrounds: [String: [Double]]
        var colors: [String: [Double]]
        var shapes: [String]
        var motions: [String]
        var allowed_colors_per_background: [String: [String]]?
        var min_contrast_rgb_distance: Double?
    }
}

/// An sRGB colour, components 0–255 (Double so that averages keep their precision).
public struct RGB: Sendable, Equatable, Codable, CustomStringConvertible {
    public var r: Double
    public var g: Double
    public var b: Double

    public init(_ r: Double, _ g: Double, _ b: Double) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// Euclidean distance in RGB.
    public func distance(to o: RGB) -> Double {
        ((r - o.r) * (r - o.r) + (g - o.g) * (g - o.g) + (b - o.b) * (b - o.b)).squareRoot()
    }

    public var description: String { "(\(Int(r.rounded())), \(Int(g.rounded())), \(Int(b.rounded())))" }
}

/// Shapes of the world, with the exact geometry of `render_batch` in Scripts/training/world.py.
public enum WorldShape: String, Sendable, CaseIterable, Codable {
    case circle, square, triangle, diamond

    /// Area in units of r² (r = the clip's size parameter):
    /// circle π; square (2 · 0.886)²; equilateral triangle with circumradius 1.35 (3√3/4 · 1.35²);
    /// rhombus with half-diagonals 1.3 (vertical) and 0.85 (horizontal): 2 · 1.3 · 0.85.
    public var areaPerRadiusSquared: Double {
        switch self {
        case .circle: Double.pi
        case .square: 4 * 0.886 * 0.886
        case .triangle: 3 * 3.0.squareRoot() / 4 * 1.35 * 1.35
        case .diamond: 2 * 1.3 * 0.85
        }
    }

    /// Rotation symmetry period in radians (0 for the circle: no orientation).
    public var rotationPeriod: Double {
        switch self {
        case .circle: 0
        case .square: Double.pi / 2
        case .triangle: 2 * Double.pi / 3
        case .diamond: Double.pi
        }
    }

    /// Largest distance from the centre to the outline, in units of r.
    public var extentPerRadius: Double {
        switch self {
        case .circle: 1
        case .square: 0.886 * 2.0.squareRoot()
        case .triangle: 1.35
        case .diamond: 1.3
        }
    }

    /// Signed distance (pixels, negative inside) of the point (`dx`, `dy`) relative to the centre
    /// (image axes: y down) to the outline of this shape of size `r` rotated by `angle` radians.
    /// Port of the signed distances in `render_batch` (Scripts/training/world.py).
    @inline(__always)
    public func signedDistance(dx: Double, dy: Double, r: Double, cosA: Double, sinA: Double)
        -> Double
    {
        let qx = cosA * dx + sinA * dy
        let qy = -sinA * dx + cosA * dy
        switch self {
        case .circle:
            return (qx * qx + qy * qy).squareRoot() - r
        case .square:
            let hs = 0.886 * r
            let ddx = abs(qx) - hs
            let ddy = abs(qy) - hs
            let ox = max(ddx, 0)
            let oy = max(ddy, 0)
            return (ox * ox + oy * oy).squareRoot() + min(max(ddx, ddy), 0)
        case .triangle:
            let rho = 1.35 * r / 2
            return max(max(qy, 0.8660254 * qx - 0.5 * qy), -0.8660254 * qx - 0.5 * qy) - rho
        case .diamond:
            let a = 1.3 * r
            let b = 0.85 * r
            return (abs(qx) / b + abs(qy) / a - 1) * (a * b / (a * a + b * b).squareRoot())
        }
    }

    /// Anti-aliased coverage `clamp(0.5 − sd, 0, 1)`, as `render_batch` draws it.
    @inline(__always)
    public func coverage(dx: Double, dy: Double, r: Double, cosA: Double, sinA: Double) -> Double {
        min(max(0.5 - signedDistance(dx: dx, dy: dy, r: r, cosA: cosA, sinA: sinA), 0), 1)
    }
}

/// Motions of the world (trajectories: `trajectory` in Scripts/training/world.py).
public enum WorldMotion: String, Sendable, CaseIterable, Codable {
    case movingLeft = "moving left"
    case movingRight = "moving right"
    case movingUp = "moving up"
    case movingDown = "moving down"
    case bouncing
    case orbiting
    case growing
    case shrinking
    case spinning
    case standingStill = "standing still"
}
