import Foundation

/// Foundation's file errors in words. Their own description is a raw dump
/// (`Error Domain=NSCocoaErrorDomain Code=512 "(null)" UserInfo={NSFilePath=…, NSUnderlyingError=…}`).
public enum FileErrorText {
    /// Why the operation failed: the underlying system error's text (`Not a directory`), else
    /// Foundation's localized description, else the error's own description.
    public static func reason(_ error: any Error) -> String {
        let ns = error as NSError
        if let underlying = (ns.userInfo[NSUnderlyingErrorKey] as? any Error).map({ $0 as NSError }),
           underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        return ns.domain == NSCocoaErrorDomain ? ns.localizedDescription : "\(error)"
    }

    /// `path: reason` for one of Foundation's file errors; nil for any other error.
    public static func message(_ error: any Error) -> String? {
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return nil }
        let path = ns.userInfo[NSFilePathErrorKey] as? String ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        return (path.map { "\($0): " } ?? "") + reason(error)
    }
}
