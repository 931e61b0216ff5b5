import Support

// Each error type's stable codes (see `CodedError`); tests pin them.

extension EnclaveError: CodedError {
    public enum Code: String, Sendable, CaseIterable {
        case unknownBackend = "enclave.unknown-backend"
        case unavailable = "enclave.unavailable"
        case launchFailed = "enclave.launch-failed"
        case belowFloor = "enclave.below-floor"
    }

    public var code: Code {
        switch self {
        case .unknownBackend: .unknownBackend
        case .unavailable: .unavailable
        case .launchFailed: .launchFailed
        case .belowFloor: .belowFloor
        }
    }
}

extension WritableError: CodedError {
    public enum Code: String, Sendable, CaseIterable {
        case symlink = "writable.symlink"
        case unusable = "writable.unusable"
    }

    public var code: Code {
        switch self {
        case .symlink: .symlink
        case .unusable: .unusable
        }
    }
}
