import Support

// Each error type's stable codes (see `CodedError`); tests pin them.

extension HTTPServerError: CodedError {
    public enum Code: String, Sendable, CaseIterable {
        case couldNotListen = "http-server.could-not-listen"
    }

    public var code: Code {
        switch self {
        case .couldNotListen: .couldNotListen
        }
    }
}
