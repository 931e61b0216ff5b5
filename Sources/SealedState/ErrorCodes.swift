import Support

/// Why sealed state could not be read or written.
public enum StateError: Error, Equatable, Sendable {
    case badKey(reason: String)
    case unreadable(path: String, reason: String)
    case notWritten(path: String, reason: String)
    /// The file's binding is another state's: another function's, or another app's.
    case foreign(path: String)
    /// It does not open with this app's key: changed, truncated, or not a state file.
    case tampered(path: String)
    case rolledBack(path: String, counter: UInt64, newest: UInt64)
    /// The index has seen this state, and its file is gone.
    case missing(path: String, newest: UInt64)
}

extension StateError: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .badKey(reason): return "sealing key: \(reason)"
        case let .unreadable(path, reason): return "\(path): cannot be read: \(reason)"
        case let .notWritten(path, reason): return "\(path): state not saved: \(reason)"
        case let .foreign(path): return "\(path): the state of another function or app (moved or copied here), refused"
        case let .tampered(path): return "\(path): does not open with this app's sealing key (changed, truncated or not a state file), refused"
        case let .rolledBack(path, counter, newest):
            return "\(path): an older copy (save \(counter); the newest seen is save \(newest)): a rollback, refused"
        case let .missing(path, newest): return "\(path): missing, though save \(newest) of it was made: deleted or rolled back, refused"
        }
    }
}

extension StateError: CodedError {
    public enum Code: String, Sendable, CaseIterable {
        case badKey = "state.bad-key"
        case unreadable = "state.unreadable"
        case notWritten = "state.not-written"
        case foreign = "state.foreign"
        case tampered = "state.tampered"
        case rolledBack = "state.rolled-back"
        case missing = "state.missing"
    }

    public var code: Code {
        switch self {
        case .badKey: return .badKey
        case .unreadable: return .unreadable
        case .notWritten: return .notWritten
        case .foreign: return .foreign
        case .tampered: return .tampered
        case .rolledBack: return .rolledBack
        case .missing: return .missing
        }
    }
}
