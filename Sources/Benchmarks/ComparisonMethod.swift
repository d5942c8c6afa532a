import Foundation
import Sampling

/// The sampling methods of the paper's comparison tables (arXiv 2503.18940), each as a plan for
/// one base latent and step count, so `bench generate` can run them side by side with the same
/// seeds and count their FLOPs with `BottleneckPlan.cost`.
///
/// - Step-reduction baselines (Tables 1 and 2): standard sampling with fewer steps; their cost is
///   still compared with the full `baseSteps`.
/// - Bottleneck x2, x2.5, x3 (Table 2): the derived presets.
/// - Ablations of x3 (Table 3): no re-shift, no noise reintroduction, no bottleneck (same stages
///   and steps, all at full size).
/// - Stage count (Table 7): `5stage`, the project's 5-stage preset (full → ¾ → ½ → ¾ → full), set
///   against the 3-stage x3.
/// - Upsampling filter (Table 7): x3 with bicubic, bilinear or nearest upsampling instead of
///   Lanczos (x3 itself); downsampling stays Lanczos, as the table varies upsampling only.
public enum ComparisonMethod: String, CaseIterable, Sendable {
    case standard = "std"
    case halfSteps = "steps50"
    case thirdSteps = "steps33"
    case x2
    case x2_5 = "x2.5"
    case x3
    case x3NoReshift = "x3-no-reshift"
    case x3NoRenoise = "x3-no-renoise"
    case x3NoBottleneck = "x3-no-bottleneck"
    case fiveStage = "5stage"
    case x3Bicubic = "x3-bicubic"
    case x3Bilinear = "x3-bilinear"
    case x3Nearest = "x3-nearest"

    /// A short description for tables.
    public var title: String {
        switch self {
        case .standard: return "standard"
        case .halfSteps: return "50 % steps"
        case .thirdSteps: return "33 % steps"
        case .x2: return "bottleneck x2"
        case .x2_5: return "bottleneck x2.5"
        case .x3: return "bottleneck x3 (3 stages, Lanczos)"
        case .x3NoReshift: return "x3 without re-shifting"
        case .x3NoRenoise: return "x3 without noise reintroduction"
        case .x3NoBottleneck: return "x3 without bottleneck (all full size)"
        case .fiveStage: return "5 stages"
        case .x3Bicubic: return "x3, bicubic upsampling"
        case .x3Bilinear: return "x3, bilinear upsampling"
        case .x3Nearest: return "x3, nearest upsampling"
        }
    }

    /// Parses a comma-separated list (`std,x3,…`, or `all`), keeping the given order and
    /// dropping repeats.
    /// - Throws: `BenchmarkError.unknownMethod` naming the bad entry and the known names.
    public static func list(parsing text: String) throws -> [ComparisonMethod] {
        var out: [ComparisonMethod] = []
        for raw in text.split(separator: ",") {
            let name = raw.trimmingCharacters(in: .whitespaces)
            if name == "all" { return allCases }
            guard let m = ComparisonMethod(rawValue: name) else {
                throw BenchmarkError(.unknownMethod(name: name, known: ["all"] + allCases.map(\.rawValue)))
            }
            if !out.contains(m) { out.append(m) }
        }
        guard !out.isEmpty else {
            throw BenchmarkError(.unknownMethod(name: text, known: ["all"] + allCases.map(\.rawValue)))
        }
        return out
    }

    /// This method's plan for `context` (base latent, transformer cost model, steps, shift).
    /// `baseSteps` of every plan is `context.baseSteps`, so `cost(…).speedup` is always against
    /// standard sampling with the full step count.
    /// - Throws: `SamplingError.unreachableSpeedup` when the context is too small for a derived
    ///   preset (e.g. x3 with very few steps or tokens).
    public func plan(context: PlanContext) throws -> BottleneckPlan {
        var plan: BottleneckPlan
        switch self {
        case .standard:
            plan = .standard(steps: context.baseSteps, shift: context.baseShift)
        case .halfSteps, .thirdSteps:
            let divisor = self == .halfSteps ? 2.0 : 3.0
            let steps = max(1, Int((Double(context.baseSteps) / divisor).rounded()))
            plan = .standard(steps: steps, shift: context.baseShift)
            plan.baseSteps = context.baseSteps
        case .x2: plan = try .preset(.x2, context: context)
        case .x2_5: plan = try .preset(.x2_5, context: context)
        case .x3, .x3NoReshift, .x3NoRenoise, .x3NoBottleneck, .x3Bicubic, .x3Bilinear, .x3Nearest:
            plan = try .preset(.x3, context: context)
        case .fiveStage: plan = try .preset(.fiveStage, context: context)
        }
        switch self {
        case .x3NoReshift: plan.ablations.reshift = false
        case .x3NoRenoise: plan.ablations.renoise = false
        case .x3NoBottleneck: plan.ablations.bottleneck = false
        case .x3Bicubic: plan.filters.upsampling = .bicubic
        case .x3Bilinear: plan.filters.upsampling = .bilinear
        case .x3Nearest: plan.filters.upsampling = .nearest
        default: break
        }
        plan.name = rawValue
        plan.reading = context.reading
        return plan
    }
}
