/// Hand-written matchers for the pre-tokenizer regular expressions of CLIP and Llama 3
/// (faster than a regex engine and identical on all inputs for these fixed patterns).
/// Each returns the pieces that `tokenizers`' `Split` keeps.
public enum SplitPattern: Sendable, Equatable {
    /// Llama 3 / tiktoken `cl100k`-style, `Split(behavior: isolated)`:
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case llama3
    /// GPT-2 (`ByteLevel(use_regex: true)`):
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// CLIP, `Split(behavior: removed, invert: true)` (whitespace between matches dropped):
    /// `'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+` (special tokens are split
    /// out before this runs).
    case clip

    /// The regex source as written in `tokenizer.json`, for recognising a pattern.
    static let llama3Source =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let gpt2Source = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

    public func split(_ s: [Unicode.Scalar]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = 0
        let n = s.count
        while i < n {
            let end: Int?
            switch self {
            case .llama3: end = matchLlama3(s, i)
            case .gpt2: end = matchGPT2(s, i)
            case .clip: end = matchCLIP(s, i)
            }
            if let e = end, e > i {
                out.append(i..<e)
                i = e
            } else {
                i += 1  // CLIP: an unmatched character (whitespace) is removed
            }
        }
        return out
    }

    // MARK: - Shared pieces

    @inline(__always) private func isL(_ c: Unicode.Scalar) -> Bool { UnicodeClass.isLetter(c) }
    @inline(__always) private func isN(_ c: Unicode.Scalar) -> Bool { UnicodeClass.isNumber(c) }
    @inline(__always) private func isS(_ c: Unicode.Scalar) -> Bool { UnicodeClass.isWhitespace(c) }
    @inline(__always) private func isPunct(_ c: Unicode.Scalar) -> Bool { !isS(c) && !isL(c) && !isN(c) }
    @inline(__always) private func isNewline(_ c: Unicode.Scalar) -> Bool { c == "\r" || c == "\n" }

    /// `'s|'t|'re|'ve|'m|'ll|'d`, optionally case-insensitive.
    private func contraction(_ s: [Unicode.Scalar], _ i: Int, caseInsensitive: Bool) -> Int? {
        guard s[i] == "'", i + 1 < s.count else { return nil }
        func lower(_ c: Unicode.Scalar) -> Unicode.Scalar {
            caseInsensitive && c.value >= 0x41 && c.value <= 0x5a ? Unicode.Scalar(c.value + 32)! : c
        }
        let a = lower(s[i + 1])
        if a == "s" || a == "t" || a == "m" || a == "d" { return i + 2 }
        guard i + 2 < s.count else { return nil }
        let b = lower(s[i + 2])
        if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") { return i + 3 }
        return nil
    }

    private func run(_ s: [Unicode.Scalar], from i: Int, while p: (Unicode.Scalar) -> Bool) -> Int {
        var j = i
        while j < s.count && p(s[j]) { j += 1 }
        return j
    }

    /// `\s+(?!\S)|\s+` at `i` (callers have ruled out the earlier alternatives).
    private func trailingWhitespace(_ s: [Unicode.Scalar], _ i: Int) -> Int? {
        guard isS(s[i]) else { return nil }
        let j = run(s, from: i, while: isS)
        if j == s.count { return j }
        return j - 1 > i ? j - 1 : j
    }

    // MARK: - Patterns

    private func matchLlama3(_ s: [Unicode.Scalar], _ i: Int) -> Int? {
        let n = s.count
        if let e = contraction(s, i, caseInsensitive: true) { return e }
        let c = s[i]
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if isL(c) { return run(s, from: i, while: isL) }
        if !isNewline(c) && !isN(c) && i + 1 < n && isL(s[i + 1]) { return run(s, from: i + 1, while: isL) }
        // \p{N}{1,3}
        if isN(c) {
            var j = i
            while j < n && j < i + 3 && isN(s[j]) { j += 1 }
            return j
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var k = i
        if c == " " && i + 1 < n && isPunct(s[i + 1]) { k = i + 1 }
        if isPunct(s[k]) {
            let j = run(s, from: k, while: isPunct)
            return run(s, from: j, while: isNewline)
        }
        // \s*[\r\n]+ : whitespace run up to and including its last newline.
        let j = run(s, from: i, while: isS)
        if j > i {
            var last = -1
            for t in i..<j where isNewline(s[t]) { last = t }
            if last >= 0 { return last + 1 }
        }
        return trailingWhitespace(s, i)
    }

    private func matchGPT2(_ s: [Unicode.Scalar], _ i: Int) -> Int? {
        let n = s.count
        if let e = contraction(s, i, caseInsensitive: false) { return e }
        let c = s[i]
        let k = (c == " " && i + 1 < n) ? i + 1 : i
        if isL(s[k]) { return run(s, from: k, while: isL) }
        if isN(s[k]) { return run(s, from: k, while: isN) }
        if isPunct(s[k]) { return run(s, from: k, while: isPunct) }
        return trailingWhitespace(s, i)
    }

    private func matchCLIP(_ s: [Unicode.Scalar], _ i: Int) -> Int? {
        if let e = contraction(s, i, caseInsensitive: false) { return e }
        let c = s[i]
        if isL(c) { return run(s, from: i, while: isL) }
        if isN(c) { return i + 1 }
        if isPunct(c) { return run(s, from: i, while: isPunct) }
        return nil
    }
}
