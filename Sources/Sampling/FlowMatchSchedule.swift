import Tensor

/// How a stage's `strength` turns into its sigma list (see `Docs`/bottleneck-sampling.md).
/// The paper gives the numbers but not the formula; both readings fit its tables.
public enum StrengthReading: String, Codable, Sendable, CaseIterable {
    /// Reading A: restart at the strength. All `steps` steps run from u = strength down to 0:
    /// `σ_k = shift_s(strength·(1 − k/N))`, k = 0…N.
    case restart = "A"
    /// Reading B (default): "strength" as in diffusers' image-to-image pipelines. Build the normal
    /// N-step shifted schedule and run only its last part, from `t_start = floor(max(N − N·w, 0))`.
    case img2img = "B"
}

/// Produces the sigma list of one stage: the values fed to the model (as `1000·σ`) followed by
/// the final σ the last step lands on.
public protocol Scheduler: Sendable {
    /// - Parameters:
    ///   - steps: the stage's nominal step count N (> 0).
    ///   - shift: the timestep shift s (> 0).
    ///   - strength: the stage's noise-reintroduction strength w in (0, 1].
    ///   - reading: how `strength` is turned into sigmas.
    /// - Returns: `σ_0 > σ_1 > … > σ_last = 0`; `count − 1` model calls.
    /// - Postcondition: every value is in [0, 1] and the list strictly decreases.
    func sigmas(steps: Int, shift: Float, strength: Double, reading: StrengthReading) -> [Float]
}

/// Advances a latent from σ to σ' given the model's output at σ.
public protocol Solver: Sendable {
    /// - Parameters:
    ///   - latents: `x_σ`, any layout; updated in place to `x_σ'`.
    ///   - velocity: the model's (guided) velocity at σ, same shape as `latents`.
    func step(_ latents: inout Tensor, velocity: Tensor, sigma: Float, sigmaNext: Float)
}

/// Flow-matching sigmas with diffusers semantics.
///
/// Port of diffusers 0.42.1 `FlowMatchEulerDiscreteScheduler.set_timesteps`
/// (`schedulers/scheduling_flow_match_euler_discrete.py`) as called by `HunyuanVideoPipeline`
/// with `sigmas = np.linspace(1.0, 0.0, N + 1)[:-1]`, `use_dynamic_shifting = False`:
/// ```
/// σ_k  = linspace(1, 0, N+1)[:-1]            float64 → float32
/// σ'_k = s·σ_k / (1 + (s−1)·σ_k)             float32
/// σ'_N = 0;  timestep_k = 1000·σ'_k          float32
/// ```
public struct FlowMatchEulerScheduler: Scheduler, Solver {
    public init() {}

    /// `shift_s(σ) = s·σ / (1 + (s−1)·σ)` evaluated in float32 in diffusers' operation order.
    @inlinable
    public static func shift(_ sigma: Float, by s: Float) -> Float {
        (s * sigma) / (1 + (s - 1) * sigma)
    }

    /// The model timestep for σ: `1000·σ` in float32 (`num_train_timesteps = 1000`).
    @inlinable
    public static func timestep(_ sigma: Float) -> Float { sigma * 1000 }

    /// Standard N-step schedule: `[shift(linspace(1, 0, N+1)[:-1]), 0]` (N + 1 values).
    public static func standard(steps: Int, shift s: Float) -> [Float] {
        var out = (0..<steps).map { k -> Float in
            // numpy linspace: start + k·step with step = (stop − start)/N, in float64.
            let u = 1.0 + Double(k) * (-1.0 / Double(steps))
            return shift(Float(u), by: s)
        }
        out.append(0)
        return out
    }

    public func sigmas(steps: Int, shift s: Float, strength: Double, reading: StrengthReading) -> [Float] {
        switch reading {
        case .img2img:
            // diffusers img2img `get_timesteps`: init_timestep = min(N·w, N);
            // t_start = int(max(N − init_timestep, 0)).
            let full = Self.standard(steps: steps, shift: s)
            let initSteps = min(Double(steps) * strength, Double(steps))
            let tStart = Int(max(Double(steps) - initSteps, 0).rounded(.down))
            return Array(full[min(tStart, steps)...])
        case .restart:
            var out = (0..<steps).map { k -> Float in
                let u = strength * (1.0 - Double(k) / Double(steps))
                return Self.shift(Float(u), by: s)
            }
            out.append(0)
            return out
        }
    }

    /// Euler step `x ← x + (σ' − σ)·v`, float32 (diffusers `step`: `prev_sample = sample + dt·model_output`).
    public func step(_ latents: inout Tensor, velocity: Tensor, sigma: Float, sigmaNext: Float) {
        latents.add(velocity, scaledBy: sigmaNext - sigma)
    }
}
