/// Character classes used by the normalizers and pre-tokenizers, matching the definitions in
/// HF `tokenizers` (Rust `char` methods and the regex classes `\s`, `\p{L}`, `\p{N}`).
enum UnicodeClass {
    /// `\p{L}`: general category Lu, Ll, Lt, Lm, Lo.
    @inline(__always)
    static func isLetter(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return (c.value | 0x20) >= 0x61 && (c.value | 0x20) <= 0x7a }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return true
        default: return false
        }
    }

    /// `\p{N}`: general category Nd, Nl, No.
    @inline(__always)
    static func isNumber(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return c.value >= 0x30 && c.value <= 0x39 }
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// `\s` (and Rust `char::is_whitespace`): the Unicode White_Space property.
    @inline(__always)
    static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return c == " " || (c.value >= 0x09 && c.value <= 0x0d) }
        return c.properties.isWhitespace
    }

    /// Rust `char::is_other` (categories Cc, Cf, Cs, Co, Cn), as BertNormalizer's `is_control`.
    static func isOther(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    /// BertPreTokenizer's punctuation: ASCII punctuation or any Unicode P* category.
    static func isBertPunctuation(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 {
            let v = c.value
            return (v >= 33 && v <= 47) || (v >= 58 && v <= 64) || (v >= 91 && v <= 96) || (v >= 123 && v <= 126)
        }
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default: return false
        }
    }

    /// CJK ideograph blocks that BertNormalizer surrounds with spaces (tokenizers
    /// `bert.rs::is_chinese_char`).
    static func isChineseCharacter(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default: return false
        }
    }

    /// Rust `char::to_lowercase`, scalar by scalar (no context rules such as final sigma).
    static func appendLowercase(_ c: Unicode.Scalar, to out: inout [Unicode.Scalar]) {
        if c.value < 0x80 {
            out.append(c.value >= 0x41 && c.value <= 0x5a ? Unicode.Scalar(c.value + 32)! : c)
            return
        }
        let mapping = c.properties.lowercaseMapping
        out.append(contentsOf: mapping.unicodeScalars)
    }
}

/// Splits raw text around "added tokens" (special tokens such as `[CLS]` or `<|eot_id|>`)
/// before normalisation, as HF `tokenizers` `AddedVocabulary` does for tokens with
/// `normalized: false`: leftmost match first, the longest token on ties.
struct AddedTokenSplitter: Sendable {
    /// Token content (as scalars) and id, sorted longest first.
    private let tokens: [(scalars: [Unicode.Scalar], id: Int)]
    /// First scalar of any token, for a fast skip.
    private let firstScalars: Set<Unicode.Scalar>

    init(_ tokens: [String: Int]) {
        self.tokens = tokens.map { (Array($0.key.unicodeScalars), $0.value) }
            .filter { !$0.0.isEmpty }
            .sorted { $0.0.count != $1.0.count ? $0.0.count > $1.0.count : $0.1 < $1.1 }
        firstScalars = Set(self.tokens.map { $0.scalars[0] })
    }

    enum Piece { case text([Unicode.Scalar]), token(Int) }

    /// The text as alternating plain runs and added-token ids.
    func split(_ text: [Unicode.Scalar]) -> [Piece] {
        if tokens.isEmpty { return [.text(text)] }
        var pieces: [Piece] = []
        var start = 0, i = 0
        outer: while i < text.count {
            if firstScalars.contains(text[i]) {
                for t in tokens where i + t.scalars.count <= text.count {
                    if text[i..<(i + t.scalars.count)].elementsEqual(t.scalars) {
                        if start < i { pieces.append(.text(Array(text[start..<i]))) }
                        pieces.append(.token(t.id))
                        i += t.scalars.count
                        start = i
                        continue outer
                    }
                }
            }
            i += 1
        }
        if start < text.count { pieces.append(.text(Array(text[start..<text.count]))) }
        return pieces
    }
}
