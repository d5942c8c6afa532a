import Foundation
import Media
import Sampling
import TestSupport
import Testing
@testable import Bottleneck

/// `GenerationRequest` defaults, presets and validation messages.
@Suite struct GenerationRequestTests {
    @Test func defaults() throws {
        let r = GenerationRequest(prompt: "a fox")
        #expect(r.frames == 129 && r.width == 128 && r.height == 128 && r.steps == 50)
        #expect(r.fps == 24 && r.crf == 18 && r.bottleneck == .preset(.x2) && r.seed == nil)
        #expect(r.latentSize == LatentSize(frames: 33, height: 16, width: 16))
        try r.validate()
    }

    @Test func presetsSetStepsAndBottleneck() {
        var r = GenerationRequest(prompt: "x")
        r.apply(.draft)
        #expect(r.steps == 30 && r.bottleneck == .preset(.x3))
        r.apply(.quality)
        #expect(r.steps == 50 && r.bottleneck == .preset(.off))
    }

    @Test func seedIsResolvedOnlyWhenMissing() {
        var g = SplitMix64(seed: 1)
        var r = GenerationRequest(prompt: "x")
        let drawn = r.resolvingSeed(using: &g).seed
        #expect(drawn != nil)
        r.seed = 5
        #expect(r.resolvingSeed(using: &g).seed == 5)
    }

    /// Messages say what would work: the nearest valid values.
    @Test func validationNamesTheFix() {
        func message(_ change: (inout GenerationRequest) -> Void) -> String {
            var r = GenerationRequest(prompt: "x")
            change(&r)
            do { try r.validate(); return "" } catch { return "\(error)" }
        }
        #expect(message { $0.frames = 130 }.contains("use 129 or 133"))
        #expect(message { $0.frames = 0 }.contains("use 1"))
        #expect(message { $0.width = 100 }.contains("width must be a multiple of 16"))
        #expect(message { $0.width = 100 }.contains("use 96 or 112"))
        #expect(message { $0.height = 8 }.contains("use 16"))
        #expect(message { $0.steps = 2 }.contains("at least 3 steps"))
        #expect(message { $0.steps = 2; $0.bottleneck = .preset(.off) }.isEmpty)
        #expect(message { $0.crf = 60 }.contains("crf"))
        #expect(message { $0.output = .stdout }.contains("--format"))
        #expect(message { $0.output = .stdout; $0.format = .y4m }.isEmpty)
        #expect(message { $0.output = .stdout; $0.format = .png }.contains("cannot go to stdout"))
        #expect(message { $0.output = .file("clip.avi") }.contains("cannot tell the container"))
        #expect(message { $0.output = .file("frames.png") }.contains("-o frames/"))
        #expect(message { $0.output = .file("f_%04d.png"); $0.format = .png }.contains("-o frames/"))
        #expect(message { $0.output = .file("frames/") }.isEmpty)
        #expect(message { $0.prompt = "   " }.contains("prompt is empty"))
        #expect(message { $0.preview = PreviewSettings(path: "p.png", every: 0) }.contains("preview-every"))
        #expect(message { $0.cfgScale = .nan }.contains("cfg must be a number between 0 and 100; got nan, use 6"))
    }

    /// Issue #16: messages suggested values outside the bounds ("use 99997 or 100001" for
    /// frames, whose maximum is 1033; "use 100000 or 100016" for a width). Every suggestion is
    /// now a value `validate()` accepts.
    @Test func suggestionsAreInsideTheBounds() {
        func failure(_ change: (inout GenerationRequest) -> Void) -> RequestError? {
            var r = GenerationRequest(prompt: "x")
            r.bottleneck = .preset(.off)  // the presets' three-step minimum is a rule of its own
            change(&r)
            do { try r.validate(); return nil } catch { return error as? RequestError }
        }
        #expect(failure { $0.frames = 99999 }?.description
            == "frames must be 4k+1 between 1 and 1033 (the VAE compresses time by 4); got 99999, use 1033")
        #expect(failure { $0.width = 100000 }?.description.hasSuffix("got 100000, use 4096") == true)
        #expect(failure { $0.frames = -5 }?.description.hasSuffix("got -5, use 1") == true)
        #expect(failure { $0.steps = 5000 }?.description == "steps must be an integer between 1 and 1000; got 5000, use 1000")
        #expect(failure { $0.cfgScale = 1000 }?.description.hasSuffix("use 100") == true)
        #expect(failure { $0.preview = PreviewSettings(path: "p.png", every: 5000) }?.field == "preview-every")
        for change: (inout GenerationRequest, Int) -> Void in [{ $0.frames = $1 }, { $0.width = $1 }, { $0.height = $1 },
                                                              { $0.steps = $1 }, { $0.fps = $1 }, { $0.crf = $1 }] {
            for bad in [-5, 0, 2, 130, 1034, 4097, 99999, 100_000] {
                guard case .outOfBounds(let violation)? = failure({ change(&$0, bad) })?.kind else { continue }
                for suggestion in violation.suggestions {
                    #expect(failure({ change(&$0, Int(suggestion)!) }) == nil, "\(violation): \(suggestion)")
                }
            }
        }
    }

    /// A plan file's stages set their own steps, so the three-stage minimum of the presets
    /// does not apply to it.
    @Test func planFileStepsAreNotHeldToThePresetMinimum() throws {
        var r = GenerationRequest(prompt: "x")
        r.bottleneck = .file("plan.json")
        r.steps = 2
        try r.validateNumbers()
        r.bottleneck = .preset(.x2)
        #expect(throws: RequestError.self) { try r.validateNumbers() }
    }

    /// The request infers what Media infers (`.m4v` was refused before the two format types
    /// became one), and a PNG file name is refused with the folder spelling.
    @Test func formatFromExtension() throws {
        func format(_ path: String) throws -> MediaFormat {
            var r = GenerationRequest(prompt: "x")
            r.output = .file(path)
            return try r.resolvedFormat()
        }
        #expect(try format("a/b.MP4") == .mp4)
        #expect(try format("a/b.m4v") == .mp4)
        #expect(try format("x.rgb") == .rawvideo)
        #expect(try format("frames/") == .png)
        #expect(throws: RequestError(.unknownExtension(path: ".hidden"), field: "format")) { try format(".hidden") }
        #expect(throws: RequestError(.unknownExtension(path: "dir.v2/noext"), field: "format")) { try format("dir.v2/noext") }
        #expect(throws: RequestError(.pngNeedsFolder(path: "f_%04d.png"), field: "output")) { try format("f_%04d.png") }
        var pattern = GenerationRequest(prompt: "x")
        (pattern.output, pattern.format) = (.file("f_%04d.png"), .png)
        #expect(throws: RequestError(.pngNeedsFolder(path: "f_%04d.png"), field: "output")) { try pattern.validate() }
    }

    @Test func bottleneckParsing() throws {
        #expect(try BottleneckChoice(parsing: "X2.5") == .preset(.x2_5))
        #expect(try BottleneckChoice(parsing: "off") == .preset(.off))
        #expect(try BottleneckChoice(parsing: "plans/my.json") == .file("plans/my.json"))
        #expect(throws: RequestError.self) { try BottleneckChoice(parsing: "x4") }
        #expect(throws: RequestError.self) { try BottleneckChoice(parsing: "") }
        // The fixed plans of `bottleneck plan` are not request presets, from text or from code,
        // but `flux` (paper Table 4) is, its stages setting the steps (34).
        #expect(try BottleneckChoice(parsing: "hunyuan") == .file("hunyuan"))
        var fixed = GenerationRequest(prompt: "x")
        fixed.bottleneck = .preset(.hunyuan)
        #expect(throws: RequestError(.badBottleneck("hunyuan"), field: "bottleneck")) { try fixed.validateNumbers() }
        fixed.bottleneck = try BottleneckChoice(parsing: "flux")
        try fixed.takeStepsFromFixedPlan(explicit: nil)
        #expect(fixed.bottleneck == .preset(.flux) && fixed.steps == 34)
    }
}

// MARK: Output targets

extension GenerationRequestTests {
    /// Issue #16: `--save-latents` given the `-o` path was overwritten by the video while both
    /// were reported written. Two outputs that are one file (same path, through a link, or a hard
    /// link) are refused by `validate()`, naming both options; a directory is refused too.
    @Test func outputsThatAreOneFileAreRefused() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/link", withDestinationPath: "out.mp4")
        try Data().write(to: URL(fileURLWithPath: "\(dir)/p.png"))
        try FileManager.default.linkItem(atPath: "\(dir)/p.png", toPath: "\(dir)/hard.png")
        func failure(_ change: (inout GenerationRequest) -> Void) -> RequestError? {
            var r = testRequest("x", output: "\(dir)/out.mp4")
            change(&r)
            do { try r.validate(); return nil } catch { return error as? RequestError }
        }
        let same = try #require(failure { $0.saveLatentsPath = "\(dir)/out.mp4" })
        #expect(same.kind == .sharedOutput(first: "output", firstPath: "\(dir)/out.mp4",
                                           second: "save-latents", secondPath: "\(dir)/out.mp4"))
        #expect(same.description == "--output and --save-latents both write \(dir)/out.mp4; give each output its own file")
        let linked = try #require(failure { $0.preview = PreviewSettings(path: "\(dir)/link", every: 1) })
        #expect(linked.kind == .sharedOutput(first: "output", firstPath: "\(dir)/out.mp4",
                                             second: "preview", secondPath: "\(dir)/link"))
        #expect(linked.description.contains("\(dir)/link"))
        let hard = try #require(failure {
            $0.saveLatentsPath = "\(dir)/p.png"
            $0.preview = PreviewSettings(path: "\(dir)/hard.png", every: 1)
        })
        #expect(hard.field == "preview" && hard.description.hasPrefix("--save-latents and --preview"))
        #expect(failure { $0.saveLatentsPath = "\(dir)/out.safetensors" } == nil)

        let folder = try #require(failure { $0.saveLatentsPath = dir })
        #expect(folder.field == "save-latents")
        #expect(folder.description == "--save-latents: \(dir): is a directory, not a file; name a file to write")
    }
}
