import Support

// Each error type's stable codes (see `CodedError`); tests pin them.

extension FunctionError: CodedError {
    public enum Code: String, Sendable, CaseIterable {
        case codeUnavailable = "function.code-unavailable"
        case badCode = "function.bad-code"
        case trap = "function.trap"
        case outOfFuel = "function.out-of-fuel"
        case timeout = "function.timeout"
        case memoryLimit = "function.memory-limit"
        case guestFault = "function.guest-fault"
        case notRunning = "function.not-running"
        case payloadTooLarge = "function.payload-too-large"
    }

    public var code: Code {
        switch self {
        case .codeUnavailable: .codeUnavailable
        case .badCode: .badCode
        case .trap: .trap
        case .outOfFuel: .outOfFuel
        case .timeout: .timeout
        case .memoryLimit: .memoryLimit
        case .guestFault: .guestFault
        case .notRunning: .notRunning
        case .payloadTooLarge: .payloadTooLarge
        }
    }
}
