import Foundation
import TestSupport
import Testing
@testable import Evaluation

/// Corrupted versions of the decoded ground-truth clips: the attribute that was corrupted must
/// lose accuracy, so the analyzer is shown to look at it rather than at something correlated.
@Suite struct CorruptionTests {
    let analyzer = SceneAnalyzer(spec: WorldClips.spec)

    /// Accuracy report over `items` after applying `corrupt` to each clip.
    func report(
        _ items: [(item: ManifestItem, clip: RGBClip)],
        corrupt: (ManifestItem, RGBClip) throws -> (SceneAttributes, RGBClip)
    ) rethrows -> AccuracyReport {
        var r = AccuracyReport()
        for (item, clip) in items {
            let (attrs, c) = try corrupt(item, clip)
            r.add(SceneScorer.score(expected: attrs, detected: analyzer.analyze(c)))
        }
        return r
    }

    func subset(_ limit: Int, _ keep: (ManifestItem) -> Bool) -> [(item: ManifestItem, clip: RGBClip)] {
        Array(WorldClips.items.filter { keep($0.item) }.prefix(limit))
    }

    // MARK: - Colour

    /// Repainting every object with another allowed colour (same coverage) must make the colour
    /// attribute wrong, while shape and motion still score.
    @Test func colourSwapBreaksColour() throws {
        let items = subset(4) { $0.attributes.objects.count == 1 }
        let spec = WorldClips.spec
        let r = report(items) { item, clip in
            let bg = item.attributes.background
            let o = item.attributes.objects[0]
            let other = spec.candidateColors(on: bg).first { $0 != o.color }!
            let frames = clip.frames.map {
                Recolour.replace(
                    $0, background: spec.backgrounds[bg]!, from: spec.colors[o.color]!,
                    to: spec.colors[other]!)
            }
            return (item.attributes, try! RGBClip(width: clip.width, height: clip.height, frames: frames))
        }
        #expect(r.accuracy(.color) == 0)
        #expect(r.accuracy(.shape) >= 0.8)
        #expect(r.accuracy(.motion) >= 0.8)
    }

    // MARK: - Motion

    /// Every frame replaced by the first: nothing moves, so only "standing still" may survive.
    @Test func frozenFramesBreakMotion() throws {
        let items = subset(6) { $0.attributes.objects.allSatisfy { $0.motion != "standing still" } }
        let r = try report(items) { item, clip in
            (item.attributes, try RGBClip(width: clip.width, height: clip.height,
                frames: Array(repeating: clip.frames[0], count: clip.frames.count)))
        }
        #expect(r.accuracy(.motion) == 0)
        #expect(r.accuracy(.color) == 1)
    }

    /// Time reversed: left↔right, up↔down, growing↔shrinking. The analyzer must report the
    /// reversed motion, i.e. score wrong against the original and right against the swapped one.
    @Test func reversedTimeSwapsDirections() throws {
        let swap = [
            "moving left": "moving right", "moving right": "moving left", "moving up": "moving down",
            "moving down": "moving up", "growing": "shrinking", "shrinking": "growing",
        ]
        let items = subset(6) { $0.attributes.objects.allSatisfy { swap[$0.motion] != nil } }
        #expect(items.count >= 5)
        let reversed = try items.map { item, clip in
            (item, try RGBClip(width: clip.width, height: clip.height, frames: clip.frames.reversed()))
        }
        let original = report(reversed) { item, clip in (item.attributes, clip) }
        let swapped = report(reversed) { item, clip in
            var a = item.attributes
            for i in a.objects.indices { a.objects[i].motion = swap[a.objects[i].motion]! }
            return (a, clip)
        }
        #expect(original.accuracy(.motion) == 0)
        #expect(swapped.accuracy(.motion) == 1)
    }

    // MARK: - Shape

    /// A strong blur rounds corners away: squares, triangles and diamonds stop being recognised.
    @Test func blurBreaksShape() throws {
        let items = subset(5) { item in
            item.attributes.objects.allSatisfy { $0.shape != "circle" } && item.attributes.objects.count == 1
        }
        let r = try report(items) { item, clip in
            let radius = max(2, min(clip.width, clip.height) / 16)
            let frames = clip.frames.map { Blur.box($0, width: clip.width, height: clip.height, radius: radius, passes: 3) }
            return (item.attributes, try RGBClip(width: clip.width, height: clip.height, frames: frames))
        }
        #expect(r.accuracy(.shape) <= 0.5)
        #expect(r.accuracy(.background) == 1)
    }

    /// Replacing each object's pixels by noise of its colour (random coverage) leaves no shape.
    @Test func noiseBreaksShape() throws {
        let items = subset(5) { item in item.attributes.objects.count == 1 }
        let spec = WorldClips.spec
        let r = try report(items) { item, clip in
            var rng = SplitMix64(seed: 7)
            let bg = spec.backgrounds[item.attributes.background]!
            let col = spec.colors[item.attributes.objects[0].color]!
            let frames = clip.frames.map { Recolour.scramble($0, width: clip.width, background: bg, colour: col, rng: &rng) }
            return (item.attributes, try RGBClip(width: clip.width, height: clip.height, frames: frames))
        }
        #expect(r.accuracy(.shape) <= 0.5)
    }

    // MARK: - Objects

    /// Painting the second object over with the background: one object is missing, so the count,
    /// and that object's colour, shape and motion, are wrong.
    @Test func removedObjectBreaksCountAndItsAttributes() throws {
        let items = subset(4) { $0.attributes.objects.count == 2 }
        let spec = WorldClips.spec
        let r = try report(items) { item, clip in
            let bg = spec.backgrounds[item.attributes.background]!
            let gone = spec.colors[item.attributes.objects[1].color]!
            let frames = clip.frames.map { Recolour.replace($0, background: bg, from: gone, to: bg) }
            return (item.attributes, try RGBClip(width: clip.width, height: clip.height, frames: frames))
        }
        #expect(r.accuracy(.objectCount) == 0)
        // Half the objects are left intact: their attributes still score.
        #expect(abs(r.accuracy(.color) - 0.5) < 0.01)
        #expect(r.overall < 0.7)
    }
}

/// Pixel-level edits along the background→colour line (the rendering's own mixing model).
enum Recolour {
    /// Coverage of `colour` over `background` at a pixel, or nil when the pixel is not such a
    /// mixture (residual over 30% of the line length).
    static func coverage(_ p: RGB, background: RGB, colour: RGB) -> Double? {
        let e = (colour.r - background.r, colour.g - background.g, colour.b - background.b)
        let d = (p.r - background.r, p.g - background.g, p.b - background.b)
        let n2 = e.0 * e.0 + e.1 * e.1 + e.2 * e.2
        let a = (d.0 * e.0 + d.1 * e.1 + d.2 * e.2) / n2
        let res = RGB(d.0 - a * e.0, d.1 - a * e.1, d.2 - a * e.2).distance(to: RGB(0, 0, 0))
        return a > 0.1 && res < 0.3 * n2.squareRoot() ? min(a, 1) : nil
    }

    /// Replaces mixtures of `from` with the same coverage of `to`.
    static func replace(_ frame: [UInt8], background: RGB, from: RGB, to: RGB) -> [UInt8] {
        var out = frame
        for i in stride(from: 0, to: frame.count, by: 3) {
            let p = RGB(Double(frame[i]), Double(frame[i + 1]), Double(frame[i + 2]))
            guard let a = coverage(p, background: background, colour: from) else { continue }
            let v = [background.r + a * (to.r - background.r), background.g + a * (to.g - background.g),
                     background.b + a * (to.b - background.b)]
            for c in 0..<3 { out[i + c] = UInt8(max(0, min(255, v[c].rounded()))) }
        }
        return out
    }

    /// Replaces the object's bounding box by random pixels of either `colour` or `background`
    /// (half each): the colour survives, the outline does not.
    static func scramble(
        _ frame: [UInt8], width: Int, background: RGB, colour: RGB, rng: inout SplitMix64
    ) -> [UInt8] {
        var xs: [Int] = [], ys: [Int] = []
        for i in stride(from: 0, to: frame.count, by: 3) {
            let p = RGB(Double(frame[i]), Double(frame[i + 1]), Double(frame[i + 2]))
            if coverage(p, background: background, colour: colour) != nil {
                xs.append((i / 3) % width)
                ys.append((i / 3) / width)
            }
        }
        guard let x0 = xs.min(), let x1 = xs.max(), let y0 = ys.min(), let y1 = ys.max() else { return frame }
        var out = frame
        for y in y0...y1 {
            for x in x0...x1 {
                let c = rng.next() % 2 == 0 ? colour : background
                let i = (y * width + x) * 3
                out[i] = UInt8(c.r); out[i + 1] = UInt8(c.g); out[i + 2] = UInt8(c.b)
            }
        }
        return out
    }
}

/// Separable box blur with running sums, repeated (three passes approximate a Gaussian).
enum Blur {
    static func box(_ frame: [UInt8], width w: Int, height h: Int, radius: Int, passes: Int) -> [UInt8] {
        var v = frame.map(Float.init)
        var tmp = v
        for _ in 0..<passes {
            // (lines, length, element step, line step) for rows, then columns; in pixels.
            for (lines, length, step, lineStep) in [(h, w, 1, w), (w, h, w, 1)] {
                for l in 0..<lines {
                    for c in 0..<3 {
                        let base = l * lineStep
                        var sum: Float = 0
                        for k in 0..<min(radius, length) { sum += v[(base + k * step) * 3 + c] }
                        for i in 0..<length {
                            if i + radius < length { sum += v[(base + (i + radius) * step) * 3 + c] }
                            if i - radius - 1 >= 0 { sum -= v[(base + (i - radius - 1) * step) * 3 + c] }
                            let n = Float(min(length - 1, i + radius) - max(0, i - radius) + 1)
                            tmp[(base + i * step) * 3 + c] = sum / n
                        }
                    }
                }
                swap(&v, &tmp)
            }
        }
        return v.map { UInt8(max(0, min(255, $0.rounded()))) }
    }
}
