import HTTPServing
import Logging
import NIOConcurrencyHelpers
import Prometheus

/// Lets a request through to the node API only with the node's bearer token. A refusal is a 401
/// with `WWW-Authenticate: Bearer` and the reason in plain text, counted in
/// `secure_executor_api_unauthorized_total`, and logged once per source address: a caller that
/// retries in a loop cannot flood the log.
struct ControlGate: Sendable {
    /// Sources remembered for "logged once"; past this many, further sources are summed up in
    /// one line instead, so a caller with many addresses cannot grow the set without bound.
    static let rememberedSources = 1024

    private struct Logged {
        var sources: Set<String> = []
        var overflowNoted = false
    }

    let token: ControlToken
    let refused: Counter
    let logger: Logger
    private let logged = NIOLockedValueBox(Logged())

    init(token: ControlToken, refused: Counter, logger: Logger) {
        self.token = token
        self.refused = refused
        self.logger = logger
    }

    /// nil: authenticated; otherwise the 401 to answer.
    func refusal(for request: HTTPRequestInfo) -> HTTPAnswer? {
        guard let reason = problem(with: request.headers["authorization"]) else { return nil }
        refused.increment()
        note(reason, from: request.remoteAddress ?? "unknown address", request: request)
        var answer = HTTPAnswer.text(401, "\(request.method) \(request.path) refused: \(reason.description)")
        answer.headers["www-authenticate"] = reason.challenge
        return answer
    }

    private func problem(with authorization: String?) -> Unauthorized? {
        guard let authorization, !authorization.isEmpty else { return .missing }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return .notBearer }
        return token.matches(parts[1].drop { $0 == " " }) ? nil : .wrong
    }

    private func note(_ reason: Unauthorized, from source: String, request: HTTPRequestInfo) {
        enum Line { case first, overflow, none }
        let line: Line = logged.withLockedValue { logged in
            if logged.sources.contains(source) { return .none }
            if logged.sources.count < Self.rememberedSources {
                logged.sources.insert(source)
                return .first
            }
            if logged.overflowNoted { return .none }
            logged.overflowNoted = true
            return .overflow
        }
        switch line {
        case .first:
            logger.warning(
                "node API request refused: \(reason.description); further refusals from this source are only counted",
                metadata: ["source": "\(source)", "request": "\(request.method) \(request.path.prefix(200))"])
        case .overflow:
            logger.warning(
                "node API requests refused from more than \(Self.rememberedSources) sources; further sources are only counted (secure_executor_api_unauthorized_total)"
            )
        case .none:
            break
        }
    }
}

/// Why a request carries no valid credential.
enum Unauthorized: CustomStringConvertible {
    case missing, notBearer, wrong

    var description: String {
        switch self {
        case .missing:
            return
                "no credential. Send \"Authorization: Bearer TOKEN\" with the token from the node's control file, or use `secure-executor node …`, which does"
        case .notBearer:
            return "the Authorization header is not a bearer token. Send \"Authorization: Bearer TOKEN\" with the token from the node's control file"
        case .wrong:
            return "wrong credential. The token changes at every start of the node: read it again from the node's control file"
        }
    }

    /// RFC 6750: `invalid_token` only when a token was presented.
    var challenge: String {
        switch self {
        case .missing: return #"Bearer realm="secure-executor node API""#
        case .notBearer: return #"Bearer realm="secure-executor node API", error="invalid_request""#
        case .wrong: return #"Bearer realm="secure-executor node API", error="invalid_token""#
        }
    }
}
