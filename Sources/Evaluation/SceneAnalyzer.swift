import Foundation

/// What the analyzer found in one clip.
public struct SceneEstimate: Sendable, Equatable, Codable {
    /// Nearest spec background to the median border colour.
    public var background: String
    /// The measured median border colour.
    public var backgroundRGB: RGB
    /// At most two objects, largest first.
    public var objects: [ObjectEstimate]
}

/// One detected object.
public struct ObjectEstimate: Sendable, Equatable, Codable {
    /// Spec colour name whose background→colour line explains the object's pixels.
    public var color: String
    public var shape: WorldShape
    public var motion: WorldMotion
    /// Mean soft IoU per shape over the fitted frames (name → score).
    public var shapeScores: [String: Double]
    public var motionFeatures: MotionFeatures
    /// Frames in which the object was found.
    public var framesSeen: Int
    /// Mean coverage area, as a fraction of `min(width, height)²`.
    public var meanArea: Double
}

/// Estimates background, objects, shapes and motions of a "shapes"-world clip.
///
/// 1. Background: per-channel median of the border pixels of every frame, then the nearest spec
///    background.
/// 2. Pixels: each pixel `p` is explained as `bg + α·(c − bg)` for every candidate colour `c`
///    (anti-aliased edges are exactly such mixtures); the colour with the smallest residual wins
///    when the residual is small, and `α` is the pixel's coverage.
/// 3. Per frame and colour: the largest 8-connected component of pixels with α ≥ 0.5 gives the
///    object; its soft area and centroid come from the coverage around it.
/// 4. Objects: colours found (≥ `minPixels`) in at least half of the frames, at most two, largest
///    first; a second object must be at least `minRelativeArea` of the first.
/// 5. Shape: `ShapeClassifier` on up to `shapeFrames` evenly spaced frames, area-weighted vote.
///    Motion: `MotionClassifier` on the centroid/area track and the fitted angles.
public struct SceneAnalyzer: Sendable {
    public var spec: WorldSpec
    public var shapeClassifier = ShapeClassifier()
    public var motionClassifier = MotionClassifier()
    /// Frames (evenly spaced) on which shapes are fitted; also the angle samples for spinning.
    public var shapeFrames = 16
    /// Smallest object component, as a fraction of the frame's pixels (at least 6 pixels).
    public var minPixelFraction = 0.0015
    /// A second object's mean area relative to the first's.
    public var minRelativeArea = 0.05
    /// Largest residual off the background→colour line, relative to that line's length.
    public var maxResidual = 0.3

    public init(spec: WorldSpec) {
        self.spec = spec
    }

    public func analyze(_ clip: RGBClip) -> SceneEstimate {
        let w = clip.width, h = clip.height, n = w * h
        let frameCount = clip.frames.count
        // 1. Background.
        let bgRGB = Self.borderMedian(clip)
        let background = spec.backgrounds.min {
            ($0.value.distance(to: bgRGB), $0.key) < ($1.value.distance(to: bgRGB), $1.key)
        }!.key
        // 2. Candidate colours and the per-pixel model.
        let names = spec.candidateColors(on: background)
        let model = PixelModel(
            background: bgRGB, colors: names.map { spec.colors[$0]! }, maxResidual: maxResidual)
        let minPixels = max(6, Int(minPixelFraction * Double(n)))
        let fitFrames = Set(Self.evenlySpaced(count: frameCount, samples: shapeFrames))
        let side = Double(min(w, h))

        var tracks = [[ObjectObservation]](repeating: [], count: names.count)
        var fits = [[(frame: Int, area: Double, fits: [ShapeClassifier.Fit])]](
            repeating: [], count: names.count)
        var labels = [Int8](repeating: -1, count: n)
        var alpha = [Float](repeating: 0, count: n)
        for (t, frame) in clip.frames.enumerated() {
            model.label(frame, labels: &labels, alpha: &alpha)
            // 3. Largest component per colour.
            for comp in Self.largestComponents(labels: labels, alpha: alpha, width: w, height: h, colors: names.count)
            where comp.pixels >= minPixels {
                let k = comp.label
                // Soft coverage of this colour in the component's box, grown by 2 pixels.
                let x0 = max(0, comp.minX - 2), x1 = min(w - 1, comp.maxX + 2)
                let y0 = max(0, comp.minY - 2), y1 = min(h - 1, comp.maxY + 2)
                var area = 0.0, sx = 0.0, sy = 0.0
                for y in y0...y1 {
                    for x in x0...x1 where labels[y * w + x] == Int8(k) {
                        let a = Double(min(alpha[y * w + x], 1))
                        area += a
                        sx += a * (Double(x) + 0.5)
                        sy += a * (Double(y) + 0.5)
                    }
                }
                guard area > 0 else { continue }
                tracks[k].append(
                    ObjectObservation(
                        frame: t, x: sx / area / Double(w), y: sy / area / Double(h),
                        area: area / (side * side)))
                if fitFrames.contains(t) {
                    let cw = x1 - x0 + 1, ch = y1 - y0 + 1
                    // Pad the crop so every template fits (the classifier clips to the map).
                    let pad = Int((area.squareRoot() * 0.6).rounded(.up)) + 2
                    let pw = cw + 2 * pad, ph = ch + 2 * pad
                    var cov = [Float](repeating: 0, count: pw * ph)
                    for y in y0...y1 {
                        for x in x0...x1 where labels[y * w + x] == Int8(k) {
                            cov[(y - y0 + pad) * pw + (x - x0 + pad)] = min(alpha[y * w + x], 1)
                        }
                    }
                    let f = shapeClassifier.fits(coverage: cov, width: pw, height: ph)
                    if !f.isEmpty { fits[k].append((t, area, f)) }
                }
            }
        }
        // 4. Objects: colours present in at least half of the frames, largest first.
        var found: [(k: Int, meanArea: Double)] = []
        for k in names.indices where tracks[k].count * 2 >= frameCount && !fits[k].isEmpty {
            found.append((k, tracks[k].map(\.area).reduce(0, +) / Double(tracks[k].count)))
        }
        found.sort { $0.meanArea > $1.meanArea }
        if let top = found.first?.meanArea {
            found = found.prefix(2).filter { $0.meanArea >= minRelativeArea * top }
        }
        // 5. Shape vote and motion per object.
        let objects = found.map { (k, meanArea) -> ObjectEstimate in
            var votes = [Double](repeating: 0, count: WorldShape.allCases.count)
            var weight = 0.0
            for entry in fits[k] {
                for (i, fit) in entry.fits.enumerated() { votes[i] += entry.area * fit.score }
                weight += entry.area
            }
            let best = votes.indices.max { votes[$0] < votes[$1] }!
            let shape = WorldShape.allCases[best]
            let angles = fits[k].map { (frame: $0.frame, angle: $0.fits[best].angle) }
            let (motion, features) = motionClassifier.classify(
                track: tracks[k], frameCount: frameCount, angles: angles, period: shape.rotationPeriod)
            var scores: [String: Double] = [:]
            for (i, s) in WorldShape.allCases.enumerated() { scores[s.rawValue] = votes[i] / weight }
            return ObjectEstimate(
                color: names[k], shape: shape, motion: motion, shapeScores: scores,
                motionFeatures: features, framesSeen: tracks[k].count, meanArea: meanArea)
        }
        return SceneEstimate(background: background, backgroundRGB: bgRGB, objects: objects)
    }

    // MARK: - Steps

    /// Per-channel median of the one-pixel border of every frame.
    static func borderMedian(_ clip: RGBClip) -> RGB {
        var hist = [[Int]](repeating: [Int](repeating: 0, count: 256), count: 3)
        var count = 0
        let w = clip.width, h = clip.height
        func add(_ f: [UInt8], _ x: Int, _ y: Int) {
            let i = (y * w + x) * 3
            hist[0][Int(f[i])] += 1
            hist[1][Int(f[i + 1])] += 1
            hist[2][Int(f[i + 2])] += 1
            count += 1
        }
        for f in clip.frames {
            for x in 0..<w {
                add(f, x, 0)
                if h > 1 { add(f, x, h - 1) }
            }
            for y in 1..<max(h - 1, 1) {
                add(f, 0, y)
                if w > 1 { add(f, w - 1, y) }
            }
        }
        func median(_ c: Int) -> Double {
            var acc = 0
            for v in 0..<256 {
                acc += hist[c][v]
                if acc * 2 >= count { return Double(v) }
            }
            return 255
        }
        return RGB(median(0), median(1), median(2))
    }

    /// `samples` frame indices spread evenly over `0..<count` (all frames when fewer).
    static func evenlySpaced(count: Int, samples: Int) -> [Int] {
        guard count > samples else { return Array(0..<count) }
        guard samples > 1 else { return [0] }
        return (0..<samples).map { Int((Double($0) * Double(count - 1) / Double(samples - 1)).rounded()) }
    }

    struct Component {
        var label: Int, pixels: Int, minX: Int, maxX: Int, minY: Int, maxY: Int
    }

    /// Largest 8-connected component of `alpha ≥ 0.5` pixels for each colour label.
    static func largestComponents(
        labels: [Int8], alpha: [Float], width w: Int, height h: Int, colors: Int
    ) -> [Component] {
        var best = [Component?](repeating: nil, count: colors)
        var seen = [Bool](repeating: false, count: w * h)
        var stack: [Int] = []
        for start in 0..<(w * h) where !seen[start] && labels[start] >= 0 && alpha[start] >= 0.5 {
            let k = labels[start]
            var c = Component(label: Int(k), pixels: 0, minX: w, maxX: -1, minY: h, maxY: -1)
            seen[start] = true
            stack.append(start)
            while let p = stack.popLast() {
                let x = p % w, y = p / w
                c.pixels += 1
                c.minX = min(c.minX, x); c.maxX = max(c.maxX, x)
                c.minY = min(c.minY, y); c.maxY = max(c.maxY, y)
                for ny in max(0, y - 1)...min(h - 1, y + 1) {
                    for nx in max(0, x - 1)...min(w - 1, x + 1) {
                        let q = ny * w + nx
                        if !seen[q] && labels[q] == k && alpha[q] >= 0.5 {
                            seen[q] = true
                            stack.append(q)
                        }
                    }
                }
            }
            if c.pixels > (best[Int(k)]?.pixels ?? 0) { best[Int(k)] = c }
        }
        return best.compactMap { $0 }
    }
}

/// Explains a pixel as background plus a fraction α of one candidate colour.
struct PixelModel: Sendable {
    let bg: (Float, Float, Float)
    /// Per candidate: direction `c − bg`, 1/|c − bg|², squared residual limit.
    let dirs: [(Float, Float, Float)]
    let invNorm2: [Float]
    let maxResidual2: [Float]
    /// Pixels closer than this to the background (squared) are background.
    let bgGate2: Float

    init(background: RGB, colors: [RGB], maxResidual: Double) {
        bg = (Float(background.r), Float(background.g), Float(background.b))
        dirs = colors.map { (Float($0.r - background.r), Float($0.g - background.g), Float($0.b - background.b)) }
        let norms = colors.map { $0.distance(to: background) }
        invNorm2 = norms.map { Float(1 / max($0 * $0, 1)) }
        maxResidual2 = norms.map { Float(max(maxResidual * $0, 20) * max(maxResidual * $0, 20)) }
        let gate = 0.2 * (norms.min() ?? 100)
        bgGate2 = Float(gate * gate)
    }

    /// Labels every pixel of a `[height, width, 3]` frame: candidate index or −1, and coverage α.
    func label(_ frame: [UInt8], labels: inout [Int8], alpha: inout [Float]) {
        let n = labels.count, m = dirs.count
        let (b0, b1, b2) = bg
        let gate = bgGate2
        // Flattened per-candidate constants: e.r, e.g, e.b, 1/|e|², residual limit².
        var table = [Float]()
        table.reserveCapacity(5 * m)
        for k in 0..<m {
            table += [dirs[k].0, dirs[k].1, dirs[k].2, invNorm2[k], maxResidual2[k]]
        }
        frame.withUnsafeBufferPointer { f in
            table.withUnsafeBufferPointer { t in
                labels.withUnsafeMutableBufferPointer { lab in
                    alpha.withUnsafeMutableBufferPointer { al in
                        for i in 0..<n {
                            let dr = Float(f[3 * i]) - b0
                            let dg = Float(f[3 * i + 1]) - b1
                            let db = Float(f[3 * i + 2]) - b2
                            lab[i] = -1
                            al[i] = 0
                            if dr * dr + dg * dg + db * db < gate { continue }
                            var bestRes = Float.infinity
                            var k = 0
                            while k < m {
                                let o = 5 * k
                                let er = t[o], eg = t[o + 1], eb = t[o + 2]
                                let a = (dr * er + dg * eg + db * eb) * t[o + 3]
                                if a > 0.15 && a < 1.5 {
                                    let rr = dr - a * er, rg = dg - a * eg, rb = db - a * eb
                                    let res = rr * rr + rg * rg + rb * rb
                                    if res < bestRes && res <= t[o + 4] {
                                        bestRes = res
                                        lab[i] = Int8(k)
                                        al[i] = a
                                    }
                                }
                                k += 1
                            }
                        }
                    }
                }
            }
        }
    }
}
