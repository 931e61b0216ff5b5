import Support

// Why a request got no usable answer: the client's typed error for everything below the
// content checks. The high-level API turns it into "every field unknown, because …"; the
// low-level `request` throws it so tests (and callers that care) can tell the cases apart.

/// Why one request got no usable answer. Each case names what went wrong for an operator.
public enum HostTransportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No agent at the socket path (ENOENT), nobody listening (ECONNREFUSED), backlog full.
    case connectFailed(path: String, SystemError)
    /// Nothing (or not a whole frame) arrived before the deadline.
    case timeout(after: Duration)
    /// The agent closed the connection (or reset it) before a whole answer arrived.
    case closed
    /// The bytes were not a valid frame: garbage, wrong version, unknown kind, oversized,
    /// or truncated by a close.
    case frame(FrameError)
    /// A frame answering some other request.
    case wrongRequestID(expected: UInt64, got: UInt64)
    /// A frame of a kind that does not answer what we asked.
    case wrongKind(expected: MessageKind, got: MessageKind)
    /// The payload is not a JSON object of the expected shape.
    case malformedPayload(String)
    /// Any other failed system call while talking to the agent.
    case system(SystemError)

    /// A stable name without values, the "once per kind" log key: the code, or for a bad
    /// frame the frame error's code.
    public var kind: String {
        if case .frame(let error) = self { return error.codeName }
        return codeName
    }

    /// One line for an operator, with values; anything from the agent is shown log-safe.
    public var description: String {
        switch self {
        case .connectFailed(let path, let error):
            "cannot connect to \(LogSafe.quote(path, limit: 120)): \(error)"
        case .timeout(let after):
            "no answer within \(Int(after.milliseconds)) ms"
        case .closed:
            "connection closed before an answer arrived"
        case .frame(let error):
            "\(error)"
        case .wrongRequestID(let expected, let got):
            "answer carries request id \(got), expected \(expected)"
        case .wrongKind(let expected, let got):
            "answer is a \(got), expected a \(expected)"
        case .malformedPayload(let why):
            "answer payload is not valid: \(why)"
        case .system(let error):
            "\(error)"
        }
    }
}
