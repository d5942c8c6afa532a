// swift-tools-version:6.0
// bottleneck: text-to-video on CPU with Bottleneck Sampling (arXiv 2503.18940).
// Module layout and dependency rules: Docs/architecture.md and ../shared/reference/style.md §2.
import PackageDescription

/// The kernels in `Tensor` are written with 8-wide SIMD vectors; Swift's default x86-64 target
/// (SSE2) splits each into two halves and has no fused multiply-add. AVX2 + FMA (every x86-64 CPU
/// since 2013/2015, including the AMD EPYC build and CI machines) runs them as single
/// instructions. F16C (on every AVX2 CPU) widens eight float16 weights to Float32 in one
/// instruction; without it each is a library call (`WeightMatrix`'s panels, `HalfPrecision.widen`).
/// `#if arch` is the host's: the manifest is compiled for the machine that builds.
#if arch(x86_64)
let kernelFlags: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mf16c"])]
#else
let kernelFlags: [SwiftSetting] = []
#endif

let package = Package(
    name: "bottleneck",
    platforms: [.macOS(.v14)],
    products: [
        // Generation as a library: load a pipeline folder once, generate from requests, receive
        // typed events (README, "Use it from your app").
        .library(name: "Bottleneck", targets: ["Bottleneck"]),
        .executable(name: "bottleneck", targets: ["BottleneckCLI"]),
        // Benchmarks and the paper's comparison tables, apart from the product (Docs/benchmarks.md).
        .executable(name: "bottleneck-bench", targets: ["BottleneckBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Generators for the parser fuzz tests (FuzzTests) only.
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CFFmpeg", pkgConfig: "libavformat libavcodec libswscale libavutil",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev"])]),
        // glibc's mallopt (AllocatorPolicy); header only, nothing to link.
        .systemLibrary(name: "CMalloc"),
        .target(name: "Tensor", dependencies: ["CBLAS", "CMalloc"], swiftSettings: kernelFlags),
        // The `ContextError` shape shared by the modules' error types (no dependencies of its own).
        .target(name: "Diagnostics"),
        .target(name: "SafeTensors", dependencies: ["Tensor", "Diagnostics"]),
        .target(name: "Tokenizers"),
        .target(name: "Models", dependencies: ["Tensor", "SafeTensors", "Tokenizers", "Diagnostics"]),
        .target(name: "Sampling", dependencies: ["Tensor", "Diagnostics"]),
        .target(name: "Media", dependencies: ["CFFmpeg"]),
        .target(name: "Bottleneck",
                dependencies: ["Tensor", "SafeTensors", "Models", "Sampling", "Media", "Diagnostics"]),
        .target(name: "Evaluation", dependencies: ["Media", "Diagnostics"]),
        .target(name: "Benchmarks", dependencies: ["Tensor", "SafeTensors", "Models", "Sampling"]),
        // What both executables share: running the root command, errors as `<tool>: error: …`, the
        // relaunch on faster OpenBLAS kernels.
        .target(name: "CommandLineTool",
                dependencies: ["Diagnostics", "Tensor", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "BottleneckCLI",
            dependencies: [
                "Tensor", "Diagnostics", "SafeTensors", "Tokenizers", "Models", "Sampling", "Media", "Bottleneck",
                "Evaluation", "CommandLineTool",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // `bottleneck-bench`: runs the built `bottleneck` as child processes for `generate` and `batch`.
        .executableTarget(
            name: "BottleneckBench",
            dependencies: [
                "Tensor", "Diagnostics", "SafeTensors", "Tokenizers", "Models", "Sampling", "Media", "Bottleneck",
                "Evaluation", "Benchmarks", "CommandLineTool",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // What the test targets share: repository and fixture paths, temporary folders, tensor
        // comparison (`expectClose`).
        .target(name: "TestSupport", dependencies: ["Tensor", "Sampling"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TestSupport"]),
        .testTarget(name: "DiagnosticsTests", dependencies: ["Diagnostics"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Tensor", "SafeTensors", "Tokenizers", "TestSupport"]),
        .testTarget(name: "SamplingTests", dependencies: ["Sampling", "Tensor", "TestSupport"]),
        .testTarget(name: "MediaTests", dependencies: ["Media"]),
        .testTarget(name: "BottleneckTests", dependencies: ["Bottleneck", "Media", "Tensor", "Models", "SafeTensors", "Sampling", "TestSupport"]),
        // The library as another package sees it: `import Bottleneck` only, no `@testable`
        // (TestSupport for the pipeline's path and a temporary folder).
        .testTarget(name: "BottleneckAPITests", dependencies: ["Bottleneck", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "TestSupport"]),
        .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks", "Models", "SafeTensors", "Sampling", "TestSupport"]),
        // Random and mutated inputs for every file parser, with fixed seeds and a time budget
        // (BOTTLENECK_FUZZ_SECONDS runs them longer; Docs/reliability.md).
        .testTarget(
            name: "FuzzTests",
            dependencies: ["SafeTensors", "Bottleneck", "Sampling", "Tensor", "TestSupport",
                           .product(name: "PropertyBased", package: "swift-property-based")]),
        // Runs the built `bottleneck` executable on pipelines/shapes (needs its target built).
        .testTarget(name: "EndToEndTests", dependencies: ["BottleneckCLI", "Media", "Bottleneck", "Tensor", "TestSupport"]),
        .testTarget(
            name: "BottleneckCLITests",
            dependencies: ["BottleneckCLI", "Bottleneck", "Sampling", "Evaluation", "CommandLineTool", "TestSupport",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(
            name: "BottleneckBenchTests",
            dependencies: ["BottleneckBench", "Bottleneck", "Benchmarks", "Evaluation", "Sampling", "TestSupport",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),
    ]
)
