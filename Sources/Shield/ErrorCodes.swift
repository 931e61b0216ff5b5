import Support

// Each error type's stable codes (see `CodedError`); tests pin them.

extension ShieldError: CodedError {
    public enum Code: String, Sendable, CaseIterable {
        case badPath = "shield.bad-path"
        case notTrusted = "shield.not-trusted"
        case trustedNotWritable = "shield.trusted-not-writable"
        case missing = "shield.missing"
        case symlinked = "shield.symlinked"
        case notRegularFile = "shield.not-regular-file"
        case sizeMismatch = "shield.size-mismatch"
        case modified = "shield.modified"
        case truncated = "shield.truncated"
        case unreadable = "shield.unreadable"
    }

    public var code: Code {
        switch self {
        case .badPath: .badPath
        case .notTrusted: .notTrusted
        case .trustedNotWritable: .trustedNotWritable
        case .missing: .missing
        case .symlinked: .symlinked
        case .notRegularFile: .notRegularFile
        case .sizeMismatch: .sizeMismatch
        case .modified: .modified
        case .truncated: .truncated
        case .unreadable: .unreadable
        }
    }
}
