import Glibc
import HostProtocol
import Logging
import NIOConcurrencyHelpers

// The TRUSTED side. It needs nothing but a Unix socket (no /proc, which the sandbox may hide),
// and believes nothing the agent says until it has been checked:
//   transport: connect, one request, one answer within the deadline, at most header + cap bytes,
//              a valid frame with our request id and the answering kind, a JSON object;
//   content:   Plausibility (types, bounds, parts ≤ totals, counters never go backwards,
//              printable bounded strings).
// Whatever fails becomes "unknown, because …" — never 0 — and is logged once per kind.

/// What to ask the agent (low-level API).
public enum HostRequest: Sendable, Equatable {
    case capabilities
    /// Health, with process figures for `pid` (nil: the agent's --runtime-pid, if any).
    case health(pid: Int32?)

    var kind: MessageKind {
        switch self {
        case .capabilities: .capabilitiesRequest
        case .health: .healthRequest
        }
    }
}

/// A transport-valid but UNCHECKED answer (low-level API; run it through Plausibility).
public enum HostAnswer: Sendable, Equatable {
    case capabilities(CapabilitiesReport)
    case health(HealthReport)
}

/// The trusted runtime's client for the host agent. Every answer is treated as hostile: transport and content are
/// checked, and whatever fails is reported as unknown with a reason, never as 0. Safe to share between threads.
public final class HostInfoClient: Sendable {
    /// How the client reaches the agent and what it is willing to accept.
    public struct Configuration: Sendable {
        /// The agent's Unix socket; a fresh connection is made after any failed request.
        public var socketPath: String
        /// Whole budget of one request: connect, send, and the complete answer.
        public var requestTimeout: Duration
        /// How long an answer (or a failure) is reused before the agent is asked again.
        /// Zero asks every time.
        public var cacheInterval: Duration
        /// Largest answer payload accepted; clamped to Frame.absoluteMaxPayload.
        public var maxPayload: Int
        /// Whose process figures to ask for: this process by default.
        public var runtimePID: Int32?
        /// Bounds the content checks apply to every answer.
        public var limits: PlausibilityLimits

        /// Defaults: 1 s per request, answers reused for 1 s, 64 KiB payload cap, this process's pid.
        public init(
            socketPath: String, requestTimeout: Duration = .seconds(1), cacheInterval: Duration = .seconds(1),
            maxPayload: Int = Frame.defaultMaxPayload, runtimePID: Int32? = getpid(),
            limits: PlausibilityLimits = PlausibilityLimits()
        ) {
            self.socketPath = socketPath
            self.requestTimeout = requestTimeout
            self.cacheInterval = cacheInterval
            self.maxPayload = maxPayload
            self.runtimePID = runtimePID
            self.limits = limits
        }
    }

    private struct Cached<Value: Sendable>: Sendable {
        var value: Value
        var at: ContinuousClock.Instant
    }

    private struct State: Sendable {
        /// A connected socket no request is using. A request takes it out while it talks, so
        /// the lock is never held across socket I/O; a second request meanwhile connects anew.
        var idle: Socket?
        var lastRequestID = UInt64.random(in: 1...UInt64(UInt32.max))
        var baselines = CounterBaselines()
        var health: Cached<HostHealth>?
        var capabilities: Cached<HostCapabilities>?
        /// While a request for one kind is out, other callers get the last checked answer
        /// (however old) instead of asking again: N callers cost one request, not N timeouts.
        var healthInFlight = false
        var capabilitiesInFlight = false
    }

    /// Fixed at init.
    public let configuration: Configuration
    private let log: OnceLog
    private let state = NIOLockedValueBox(State())

    /// Does not connect: the first request does. Rejected fields and transport failures are logged once per kind.
    public init(configuration: Configuration, logger: Logger = Logger(label: "host-bridge.client")) {
        self.configuration = configuration
        self.log = OnceLog(logger: logger)
    }

    // MARK: - High-level API: never throws, never invents a number

    /// Checked host capabilities; every field unknown (with the reason) when the agent gave no
    /// usable answer.
    public func capabilities() -> HostCapabilities {
        checkedAnswer(
            .capabilities, cache: \.capabilities, inFlight: \.capabilitiesInFlight, name: "capabilities",
            unknown: HostCapabilities.allUnknown
        ) { answer, _ in
            guard case .capabilities(let report) = answer else { preconditionFailure("exchange returns the answer case of its request") }
            return Plausibility.check(report, limits: configuration.limits)
        }
    }

    /// Checked host health; every field unknown (with the reason) when the agent gave no usable
    /// answer. Counters are compared with the last accepted value of this client.
    public func health() -> HostHealth {
        checkedAnswer(
            .health(pid: configuration.runtimePID), cache: \.health, inFlight: \.healthInFlight, name: "health",
            unknown: HostHealth.allUnknown
        ) { answer, state in
            guard case .health(let report) = answer else { preconditionFailure("exchange returns the answer case of its request") }
            return Plausibility.check(report, limits: configuration.limits, baselines: &state.baselines)
        }
    }

    /// The cached answer while it is fresh (or while another caller's request is out), else one
    /// exchange without the lock, then the check and the cache update under it.
    private func checkedAnswer<Value: HostReadings>(
        _ request: HostRequest, cache: WritableKeyPath<State, Cached<Value>?>, inFlight: WritableKeyPath<State, Bool>, name: String,
        unknown: (UnknownReason) -> Value, check: (HostAnswer, inout State) -> Value
    ) -> Value {
        let cached: Value? = state.withLockedValue { state in
            if let cached = state[keyPath: cache], state[keyPath: inFlight] || ContinuousClock.now - cached.at < configuration.cacheInterval {
                return cached.value
            }
            state[keyPath: inFlight] = true
            return nil
        }
        if let cached { return cached }
        let outcome = exchange(request)
        let result: Value = state.withLockedValue { state in
            state[keyPath: inFlight] = false
            let result: Value
            switch outcome {
            case let .success(answer): result = check(answer, &state)
            case let .failure(error): result = unknown(.transport(error))
            }
            state[keyPath: cache] = Cached(value: result, at: .now)
            return result
        }
        switch outcome {
        case .success: logRejections(result.unknownFields, answer: name)
        case let .failure(error): logTransport(error, answer: name)
        }
        return result
    }

    // MARK: - Low-level API

    /// One request, one transport-checked answer (NOT plausibility-checked, not cached).
    /// Throws what went wrong; after any error the connection is dropped and the next request
    /// connects afresh (so an agent that died and came back is picked up lazily).
    public func request(_ request: HostRequest) throws(HostTransportError) -> HostAnswer {
        try exchange(request).get()
    }

    /// Takes the idle connection (or opens one), talks without holding the lock, and puts the
    /// connection back only if the exchange went well.
    private func exchange(_ request: HostRequest) -> Result<HostAnswer, HostTransportError> {
        let (reusable, id): (Socket?, UInt64) = state.withLockedValue { state in
            defer { state.idle = nil }
            state.lastRequestID &+= 1
            return (state.idle, state.lastRequestID)
        }
        let socket: Socket
        // A connection with something to read before we asked is closed or carries junk that
        // would be taken as our answer: start over on a new one.
        if let reusable, !reusable.isStale() {
            socket = reusable
        } else {
            do {
                socket = try Socket.connect(path: configuration.socketPath)
            } catch {
                return .failure(.connectFailed(path: configuration.socketPath, error))
            }
        }
        do throws(HostTransportError) {
            let answer = try converse(over: socket, request, id: id)
            state.withLockedValue { state in if state.idle == nil { state.idle = socket } }
            return .success(answer)
        } catch {
            return .failure(error)  // the socket is dropped: a late answer may still arrive on it
        }
    }

    private func converse(over socket: Socket, _ request: HostRequest, id: UInt64) throws(HostTransportError) -> HostAnswer {
        let timeout = configuration.requestTimeout
        let deadline = ContinuousClock.now + timeout
        let payload = try encodePayload(request)
        let bytes: [UInt8]
        do {
            bytes = try Frame(kind: request.kind, requestID: id, payload: payload).encoded(maxPayload: configuration.maxPayload)
        } catch {
            throw .frame(error)
        }
        try socket.writeAll(bytes, deadline: deadline, timeout: timeout)
        let frame = try socket.readFrame(maxPayload: configuration.maxPayload, deadline: deadline, timeout: timeout)
        guard frame.requestID == id else { throw .wrongRequestID(expected: id, got: frame.requestID) }
        let expected = request.kind.answerKind!
        guard frame.kind == expected else { throw .wrongKind(expected: expected, got: frame.kind) }
        return try decodeAnswer(frame)
    }

    private func encodePayload(_ request: HostRequest) throws(HostTransportError) -> [UInt8] {
        do {
            switch request {
            case .capabilities: return try WireJSON.encode(CapabilitiesRequest())
            case .health(let pid): return try WireJSON.encode(HealthRequest(pid: pid))
            }
        } catch {
            throw .malformedPayload("could not encode the request: \(error)")
        }
    }

    private func decodeAnswer(_ frame: Frame) throws(HostTransportError) -> HostAnswer {
        do {
            switch frame.kind {
            case .capabilitiesAnswer: return .capabilities(try WireJSON.decode(CapabilitiesReport.self, from: frame.payload))
            case .healthAnswer: return .health(try WireJSON.decode(HealthReport.self, from: frame.payload))
            case .capabilitiesRequest, .healthRequest: throw HostTransportError.wrongKind(expected: .healthAnswer, got: frame.kind)
            }
        } catch let error as HostTransportError {
            throw error
        } catch {
            // Only the JSON shape is reported: the decoder's message may quote hostile text.
            throw .malformedPayload("not a JSON object of \(frame.payload.count) bytes")
        }
    }

    // MARK: - Logging, once per kind

    private func logRejections(_ unknown: [HostField: UnknownReason], answer: String) {
        for field in HostField.allCases {
            guard let reason = unknown[field], reason != .notReported else { continue }
            if case .sumExceedsTotal(let used, let free, let total) = reason {
                // One fault, two fields: one line.
                let show = HostField.memoryTotalBytes.format
                log.warning(
                    key: "\(answer).memory.sumExceedsTotal",
                    "host agent: memory used \(show(Double(used))) + free \(show(Double(free))) > memory total \(show(Double(total))), both marked unknown",
                    metadata: ["field": "\(field)", "reason": "\(reason.kind)"])
                continue
            }
            log.warning(
                key: "\(answer).\(field.wireName).\(reason.kind)",
                "host agent: \(field.label) \(reason.describe(for: field)), marked unknown",
                metadata: ["field": "\(field)", "reason": "\(reason.kind)"])
        }
    }

    private func logTransport(_ error: HostTransportError, answer: String) {
        log.warning(
            key: "transport.\(error.kind)",
            "host agent: \(answer) request failed: \(error); all \(answer) values marked unknown",
            metadata: ["reason": "transport.\(error.kind)"])
    }
}
