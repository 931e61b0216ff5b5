import Support

// Each error type's stable codes (see `CodedError`); tests pin them.

extension ManifestError: CodedError {
    public enum Code: String, Sendable, CaseIterable {
        case unreadable = "manifest.unreadable"
        case syntax = "manifest.syntax"
        case unknownKey = "manifest.unknown-key"
        case wrongType = "manifest.wrong-type"
        case missingKey = "manifest.missing-key"
        case invalidValue = "manifest.invalid-value"
        case badPath = "manifest.bad-path"
    }

    public var code: Code {
        switch self {
        case .unreadable: .unreadable
        case .syntax: .syntax
        case .unknownKey: .unknownKey
        case .wrongType: .wrongType
        case .missingKey: .missingKey
        case .invalidValue: .invalidValue
        case .badPath: .badPath
        }
    }

    public var cause: (any Error)? {
        if case let .badPath(error) = self { return error }
        return nil
    }
}

extension PathError: CodedError {
    public enum Code: String, Sendable, CaseIterable {
        case invalid = "path.invalid"
    }

    public var code: Code { .invalid }
}
