import Diagnostics
import Testing

/// `ContextError`: the description layouts every module's error messages rely on.
@Suite struct ContextErrorTests {
    enum FileKind: FileErrorKind {
        case whole(reason: String)
        case atLine(Int, reason: String)

        var line: Int? {
            if case .atLine(let n, _) = self { n } else { nil }
        }

        var message: String {
            switch self {
            case .whole(let reason), .atLine(_, let reason): reason
            }
        }
    }

    /// A kind that writes its own text and leaves the subject out (as most `RequestError` kinds do).
    enum OwnText: ErrorKind {
        case bad
        func description(subject _: String) -> String { "bad value" }
    }

    @Test func fileKindsPutFileAndLineFirst() {
        #expect(ContextError(FileKind.whole(reason: "bad"), file: "a.json").description == "a.json: bad")
        #expect(ContextError(FileKind.atLine(3, reason: "bad"), file: "a.jsonl").description == "a.jsonl:3: bad")
        #expect(ContextError(FileKind.whole(reason: "bad"), file: "a.json").file == "a.json")
    }

    @Test func otherKindsWriteTheirOwnText() {
        #expect(ContextError(OwnText.bad, subject: "frames").description == "bad value")
    }

    /// Errors of different modules are different types, so a `catch` on one lets the other pass.
    @Test func kindsStayDistinctTypes() {
        let error: any Error = ContextError(OwnText.bad, subject: "x")
        #expect(!(error is ContextError<FileKind>))
        #expect(error is ContextError<OwnText>)
    }
}
