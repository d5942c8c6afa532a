/// The error shape the library modules share: a module-specific `Kind` (what went wrong, with
/// its context) and the `subject` it is about (a file, an input's name, a request field).
///
/// Each module declares its kind enum and a typealias (`ModelError = ContextError<ModelErrorKind>`),
/// so the errors stay distinct types that callers catch and switch on, while the stored fields,
/// the initializer and the description's layout are written once, here.
public struct ContextError<ModuleKind: ErrorKind>: Error, Sendable, Equatable, CustomStringConvertible {
    /// The module's kind enum, so `ModelError.Kind` names it as a nested type would.
    public typealias Kind = ModuleKind

    public var kind: Kind
    public var subject: String

    public init(_ kind: Kind, subject: String) {
        self.kind = kind
        self.subject = subject
    }

    public var description: String { kind.description(subject: subject) }
}

/// The cases of one module's `ContextError`.
public protocol ErrorKind: Sendable, Equatable {
    /// The text for the user of an error of this kind about `subject`.
    func description(subject: String) -> String
}

/// Kinds of errors about a file or a named input, described as `file: message`, or
/// `file:line: message` when the kind names a line.
public protocol FileErrorKind: ErrorKind {
    /// What went wrong and, where it helps, what would work.
    var message: String { get }
    /// The 1-based line of the file the error is about, for kinds that have one.
    var line: Int? { get }
}

extension FileErrorKind {
    public var line: Int? { nil }

    public func description(subject file: String) -> String {
        "\(file)\(line.map { ":\($0)" } ?? ""): \(message)"
    }
}

extension ContextError where Kind: FileErrorKind {
    public init(_ kind: Kind, file: String) { self.init(kind, subject: file) }

    /// The file or input the error is about (a path, or a name such as "latents").
    public var file: String { subject }

    /// The 1-based line of the file, for kinds that name one.
    public var line: Int? { kind.line }
}
