import Support

// Each error type's stable codes (see `CodedError`); tests pin them.

extension HashFailure: CodedError {
    public enum Code: String, Sendable, CaseIterable {
        case unreadable = "hash.unreadable"
    }

    public var code: Code { .unreadable }
}

extension KeyError: CodedError {
    public enum Code: String, Sendable, CaseIterable {
        case unreadable = "key.unreadable"
        case malformed = "key.malformed"
        case exists = "key.exists"
        case unwritable = "key.unwritable"
        case exposed = "key.exposed"
        case notAKeyFile = "key.not-a-key-file"
    }

    public var code: Code {
        switch self {
        case .unreadable: .unreadable
        case .malformed: .malformed
        case .exists: .exists
        case .unwritable: .unwritable
        case .exposed: .exposed
        case .notAKeyFile: .notAKeyFile
        }
    }
}

extension SignError: CodedError {
    public enum Code: String, Sendable, CaseIterable {
        case selection = "sign.selection"
        case workflowNotTrusted = "sign.workflow-not-trusted"
        case hashing = "sign.hashing"
        case table = "sign.table"
        case write = "sign.write"
    }

    public var code: Code {
        switch self {
        case .selection: .selection
        case .workflowNotTrusted: .workflowNotTrusted
        case .hashing: .hashing
        case .table: .table
        case .write: .write
        }
    }
}

extension TableWriterError: CodedError {
    public enum Code: String, Sendable, CaseIterable {
        case nameTooLong = "table-writer.name-too-long"
        case duplicatePath = "table-writer.duplicate-path"
        case tooManyRecords = "table-writer.too-many-records"
        case digestMismatch = "table-writer.digest-mismatch"
    }

    public var code: Code {
        switch self {
        case .nameTooLong: .nameTooLong
        case .duplicatePath: .duplicatePath
        case .tooManyRecords: .tooManyRecords
        case .digestMismatch: .digestMismatch
        }
    }
}

extension TrustedSignersError: CodedError {
    public enum Code: String, Sendable, CaseIterable {
        case missing = "trusted-signers.missing"
        case unreadable = "trusted-signers.unreadable"
        case writableByOthers = "trusted-signers.writable-by-others"
        case foreignOwner = "trusted-signers.foreign-owner"
        case insideRoot = "trusted-signers.inside-root"
        case badLine = "trusted-signers.bad-line"
        case empty = "trusted-signers.empty"
    }

    public var code: Code {
        switch self {
        case .missing: .missing
        case .unreadable: .unreadable
        case .writableByOthers: .writableByOthers
        case .foreignOwner: .foreignOwner
        case .insideRoot: .insideRoot
        case .badLine: .badLine
        case .empty: .empty
        }
    }
}

extension SignerTrustError: CodedError {
    public enum Code: String, Sendable, CaseIterable {
        case notPinned = "signer-trust.not-pinned"
        case conflicting = "signer-trust.conflicting"
        case key = "signer-trust.key"
        case trustedSigners = "signer-trust.trusted-signers"
        case bundle = "signer-trust.bundle"
    }

    public var code: Code {
        switch self {
        case .notPinned: .notPinned
        case .conflicting: .conflicting
        case .key: .key
        case .trustedSigners: .trustedSigners
        case .bundle: .bundle
        }
    }

    public var cause: (any Error)? {
        switch self {
        case let .key(error): return error
        case let .trustedSigners(error): return error
        case let .bundle(error): return error
        case .notPinned, .conflicting: return nil
        }
    }
}

extension BundleError: CodedError {
    public enum Code: String, Sendable, CaseIterable {
        case manifest = "bundle.manifest"
        case table = "bundle.table"
        case missingSignature = "bundle.missing-signature"
        case malformedSignature = "bundle.malformed-signature"
        case wrongSigner = "bundle.wrong-signer"
        case badSignature = "bundle.bad-signature"
        case manifestChanged = "bundle.manifest-changed"
        case tableChanged = "bundle.table-changed"
    }

    public var code: Code {
        switch self {
        case .manifest: .manifest
        case .table: .table
        case .missingSignature: .missingSignature
        case .malformedSignature: .malformedSignature
        case .wrongSigner: .wrongSigner
        case .badSignature: .badSignature
        case .manifestChanged: .manifestChanged
        case .tableChanged: .tableChanged
        }
    }

    public var cause: (any Error)? {
        switch self {
        case let .manifest(error): return error
        case let .table(error): return error
        default: return nil
        }
    }
}

extension TableError: CodedError {
    public enum Code: String, Sendable, CaseIterable {
        case unreadable = "table.unreadable"
        case truncatedHeader = "table.truncated-header"
        case badMagic = "table.bad-magic"
        case unsupportedVersion = "table.unsupported-version"
        case badHeader = "table.bad-header"
        case truncated = "table.truncated"
        case trailingBytes = "table.trailing-bytes"
        case overlappingSections = "table.overlapping-sections"
        case countTooLarge = "table.count-too-large"
        case badDirectory = "table.bad-directory"
        case badEntry = "table.bad-entry"
        case unsorted = "table.unsorted"
        case duplicatePath = "table.duplicate-path"
    }

    public var code: Code {
        switch problem {
        case .unreadable: .unreadable
        case .truncatedHeader: .truncatedHeader
        case .badMagic: .badMagic
        case .unsupportedVersion: .unsupportedVersion
        case .badHeader: .badHeader
        case .truncated: .truncated
        case .trailingBytes: .trailingBytes
        case .overlappingSections: .overlappingSections
        case .countTooLarge: .countTooLarge
        case .badDirectory: .badDirectory
        case .badEntry: .badEntry
        case .unsorted: .unsorted
        case .duplicatePath: .duplicatePath
        }
    }
}
