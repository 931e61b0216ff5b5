import Support

// Each error type's stable codes (see `CodedError`); tests pin them.

extension HostTransportError: CodedError {
    public enum Code: String, Sendable, CaseIterable {
        case connectFailed = "host.connect-failed"
        case timeout = "host.timeout"
        case closed = "host.closed"
        case frame = "host.frame"
        case wrongRequestID = "host.wrong-request-id"
        case wrongKind = "host.wrong-kind"
        case malformedPayload = "host.malformed-payload"
        case system = "host.system"
    }

    public var code: Code {
        switch self {
        case .connectFailed: .connectFailed
        case .timeout: .timeout
        case .closed: .closed
        case .frame: .frame
        case .wrongRequestID: .wrongRequestID
        case .wrongKind: .wrongKind
        case .malformedPayload: .malformedPayload
        case .system: .system
        }
    }

    public var cause: (any Error)? {
        switch self {
        case let .connectFailed(_, error): return error
        case let .frame(error): return error
        case let .system(error): return error
        default: return nil
        }
    }
}

extension FrameError: CodedError {
    public enum Code: String, Sendable, CaseIterable {
        case badMagic = "frame.bad-magic"
        case unsupportedVersion = "frame.unsupported-version"
        case unknownKind = "frame.unknown-kind"
        case oversized = "frame.oversized"
        case truncated = "frame.truncated"
    }

    public var code: Code {
        switch self {
        case .badMagic: .badMagic
        case .unsupportedVersion: .unsupportedVersion
        case .unknownKind: .unknownKind
        case .oversized: .oversized
        case .truncated: .truncated
        }
    }
}
