import Foundation

/// Wall time of each part of one transformer forward (`bottleneck-bench flux` prints them per
/// block): a forward given a clock marks the end of each part as it finishes. One forward at a
/// time; the marks cost a clock read each.
public final class ForwardClock {
    /// Parts in the order they ran: name (`embedding`, `double`, `single`, `final`) and seconds.
    public private(set) var parts: [(name: String, seconds: Double)] = []
    private var last = DispatchTime.now().uptimeNanoseconds

    public init() {}

    /// Clears the parts and starts timing the first one.
    func start() {
        parts = []
        last = DispatchTime.now().uptimeNanoseconds
    }

    /// Ends the part that ran since the previous mark (or `start`).
    func mark(_ name: String) {
        let now = DispatchTime.now().uptimeNanoseconds
        parts.append((name, Double(now - last) / 1e9))
        last = now
    }
}
