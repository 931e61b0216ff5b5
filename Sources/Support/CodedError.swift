/// What every module's error type offers, in the style of NIOFileSystem's `FileSystemError`:
/// a stable code for programs, a message for operators (`description`), and the error it
/// wraps, if any. Codes are dotted, start with the module's area (`table.truncated`,
/// `shield.modified`) and never change meaning; messages may be reworded at any time. The one
/// place codes become protocol statuses (HTTP today, gRPC next) is the server that sends them.
public protocol CodedError: Error, CustomStringConvertible {
    associatedtype Code: RawRepresentable & CaseIterable & Sendable where Code.RawValue == String
    /// A stable name for what went wrong.
    var code: Code { get }
    /// The error underneath this one, when it wraps another.
    var cause: (any Error)? { get }
}

extension CodedError {
    public var cause: (any Error)? { nil }

    /// The stable code as text, e.g. `table.truncated`.
    public var codeName: String { code.rawValue }

    /// The chain from this error down to the first one, each as "code: message" when coded.
    public var causes: [String] {
        var lines: [String] = []
        var next: (any Error)? = cause
        while let error = next {
            if let coded = error as? any CodedError {
                lines.append("\(coded.codeName): \(coded.description)")
                next = coded.cause
            } else {
                lines.append("\(error)")
                next = nil
            }
        }
        return lines
    }
}
