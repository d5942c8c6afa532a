/// Ground-truth attributes of a clip, as the world generator writes them:
/// `{"background": ..., "objects": [{"shape", "color", "motion"}, ...]}`.
public struct SceneAttributes: Sendable, Equatable, Codable {
    public struct Object: Sendable, Equatable, Codable {
        public var shape: String
        public var color: String
        public var motion: String

        public init(shape: String, color: String, motion: String) {
            self.shape = shape
            self.color = color
            self.motion = motion
        }
    }

    public var background: String
    public var objects: [Object]

    public init(background: String, objects: [Object]) {
        self.background = background
        self.objects = objects
    }
}

/// The attribute kinds that are scored.
public enum AttributeKind: String, Sendable, CaseIterable, Codable {
    case background, objectCount = "object count", color, shape, motion
}

/// One scored attribute: expected vs detected.
public struct AttributeScore: Sendable, Equatable, Codable {
    public var kind: AttributeKind
    /// Index of the expected object (nil for background and object count).
    public var object: Int?
    public var expected: String
    /// What was detected ("none" when no object could be matched).
    public var detected: String
    public var correct: Bool
}

/// Scores detected attributes against the ground truth.
///
/// Expected objects are matched to detected ones by colour first; expected objects left over are
/// paired with the leftover detections in order (their colour is then wrong, and shape and motion
/// are judged on that detection); without any detection left, colour, shape and motion are wrong.
public enum SceneScorer {
    public static func score(expected: SceneAttributes, detected: SceneEstimate) -> [AttributeScore] {
        var out: [AttributeScore] = [
            AttributeScore(
                kind: .background, object: nil, expected: expected.background,
                detected: detected.background, correct: expected.background == detected.background),
            AttributeScore(
                kind: .objectCount, object: nil, expected: "\(expected.objects.count)",
                detected: "\(detected.objects.count)",
                correct: expected.objects.count == detected.objects.count),
        ]
        var free = Array(detected.objects.indices)
        var match = [Int?](repeating: nil, count: expected.objects.count)
        for (i, o) in expected.objects.enumerated() {
            if let j = free.firstIndex(where: { detected.objects[$0].color == o.color }) {
                match[i] = free.remove(at: j)
            }
        }
        for i in expected.objects.indices where match[i] == nil && !free.isEmpty {
            match[i] = free.removeFirst()
        }
        for (i, o) in expected.objects.enumerated() {
            let d = match[i].map { detected.objects[$0] }
            let found: [(AttributeKind, String, String?)] = [
                (.color, o.color, d?.color), (.shape, o.shape, d?.shape.rawValue),
                (.motion, o.motion, d?.motion.rawValue),
            ]
            for (kind, want, got) in found {
                out.append(
                    AttributeScore(
                        kind: kind, object: i, expected: want, detected: got ?? "none",
                        correct: got == want))
            }
        }
        return out
    }
}

/// Accuracy per attribute kind and overall (mean over every scored attribute).
public struct AccuracyReport: Sendable, Equatable, Codable {
    public struct Tally: Sendable, Equatable, Codable {
        public var correct = 0
        public var total = 0
        public var accuracy: Double { total > 0 ? Double(correct) / Double(total) : 0 }
    }

    /// Kind name (`AttributeKind.rawValue`) → tally.
    public var perAttribute: [String: Tally] = [:]
    public var all = Tally()
    public var overall: Double { all.accuracy }

    public init() {}

    public init(_ scores: [[AttributeScore]]) {
        for item in scores { add(item) }
    }

    public mutating func add(_ scores: [AttributeScore]) {
        for s in scores {
            perAttribute[s.kind.rawValue, default: Tally()].total += 1
            all.total += 1
            if s.correct {
                perAttribute[s.kind.rawValue, default: Tally()].correct += 1
                all.correct += 1
            }
        }
    }

    public func accuracy(_ kind: AttributeKind) -> Double { perAttribute[kind.rawValue]?.accuracy ?? 0 }
}
