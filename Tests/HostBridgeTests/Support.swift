import Foundation
import Logging
import NIOConcurrencyHelpers
import Synchronization
import Testing

@testable import HostBridge
@testable import HostProtocol

/// Collects log lines so tests can assert what an operator would read, and how often.
final class LogCapture: Sendable {
    private let lines = NIOLockedValueBox<[String]>([])

    var logger: Logger {
        Logger(label: "host-bridge.test") { _ in CapturingHandler(capture: self) }
    }

    var all: [String] { lines.withLockedValue { $0 } }

    func append(_ line: String) {
        lines.withLockedValue { $0.append(line) }
    }

    /// How many lines contain `text`.
    func count(_ text: String) -> Int {
        all.filter { $0.contains(text) }.count
    }
}

struct CapturingHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        capture.append("\(event.level): \(event.message)")
    }
}

/// A short socket path (sun_path holds 107 bytes) unique to one test.
func temporarySocketPath(_ tag: String) -> String {
    "/tmp/hb-\(tag)-\(UUID().uuidString.prefix(8)).sock"
}

/// Runs `body` and returns how long it took.
func elapsed<T>(_ body: () throws -> T) rethrows -> (T, Duration) {
    let start = ContinuousClock.now
    let result = try body()
    return (result, ContinuousClock.now - start)
}

/// A client that never caches, with a short timeout, logging into `capture`.
func makeClient(
    _ path: String, capture: LogCapture, timeout: Duration = .milliseconds(200),
    maxPayload: Int = Frame.defaultMaxPayload
) -> HostInfoClient {
    HostInfoClient(
        configuration: .init(
            socketPath: path, requestTimeout: timeout, cacheInterval: .zero, maxPayload: maxPayload),
        logger: capture.logger)
}

/// A HOSTILE agent double: speaks just enough of the protocol to read requests, then does
/// whatever the test scripts, over a real Unix socket, on its own thread.
final class HostileAgent: Sendable {
    enum Action: Sendable {
        /// Keep the connection and wait for the next request (also: "never answer").
        case keepOpen
        /// Hang up (shutdown, so the client sees end-of-stream at once).
        case close
    }

    typealias Behaviour = @Sendable (_ request: Frame, _ index: Int, _ connection: Socket) -> Action

    let path: String
    private let listener: Socket
    private let behaviour: Behaviour
    private let stopping = Atomic<Bool>(false)
    private let finished = NIOLockedValueBox<Bool>(false)
    private let requests = Atomic<Int>(0)

    init(_ tag: String, behaviour: @escaping Behaviour) throws {
        path = temporarySocketPath(tag)
        listener = try Socket.listen(path: path)
        self.behaviour = behaviour
        let thread = Thread { [self] in
            run()
            finished.withLockedValue { $0 = true }
        }
        thread.start()
    }

    var requestCount: Int { requests.load(ordering: .sequentiallyConsistent) }

    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        let deadline = ContinuousClock.now + .seconds(3)
        while !finished.withLockedValue({ $0 }), ContinuousClock.now < deadline { usleep(2_000) }
        unlink(path)
    }

    private var isStopping: Bool { stopping.load(ordering: .sequentiallyConsistent) }

    private func run() {
        while !isStopping {
            guard (try? listener.wait(milliseconds: 20)) == true, let connection = try? listener.accept() else { continue }
            serve(connection)
        }
    }

    private func serve(_ connection: Socket) {
        while !isStopping {
            let request: Frame
            do {
                request = try connection.readFrame(maxPayload: 4096, deadline: .now + .milliseconds(50), timeout: .milliseconds(50))
            } catch .timeout {
                continue
            } catch {
                return  // client hung up (or sent something odd): back to accept
            }
            let index = requests.add(1, ordering: .sequentiallyConsistent).oldValue
            if behaviour(request, index, connection) == .close {
                connection.shutdown()
                return
            }
        }
    }
}

extension Socket {
    /// Best-effort write for the hostile double (the client may already have hung up).
    func sendRaw(_ bytes: [UInt8]) {
        try? writeAll(bytes, deadline: .now + .seconds(2), timeout: .seconds(2))
    }

    /// Answers `request` with `json` as the payload, as-is: no encoder in the way.
    func answer(_ request: Frame, json: String, requestID: UInt64? = nil, kind: MessageKind? = nil) {
        let frame = Frame(
            kind: kind ?? request.kind.answerKind!, requestID: requestID ?? request.requestID,
            payload: Array(json.utf8))
        sendRaw(try! frame.encoded(maxPayload: Frame.absoluteMaxPayload))
    }
}

/// The built agent executable, next to the test bundle in the build directory.
func agentExecutable() throws -> URL {
    let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let candidate = testBinary.deletingLastPathComponent().appendingPathComponent("secure-executor-host-agent")
    guard FileManager.default.isExecutableFile(atPath: candidate.path) else {
        throw AgentProcessError.executableMissing(candidate.path)
    }
    return candidate
}

enum AgentProcessError: Error, CustomStringConvertible {
    case executableMissing(String)
    case notListening(String)

    var description: String {
        switch self {
        case .executableMissing(let path): "agent executable not built at \(path) (run `swift build` first)"
        case .notListening(let path): "agent did not start listening on \(path)"
        }
    }
}

/// Starts the real agent process and waits until its socket accepts connections.
func spawnAgent(socketPath: String) throws -> Process {
    let process = Process()
    process.executableURL = try agentExecutable()
    process.arguments = ["--socket", socketPath, "--disk-path", NSTemporaryDirectory()]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    let deadline = ContinuousClock.now + .seconds(5)
    while ContinuousClock.now < deadline {
        if (try? Socket.connect(path: socketPath)) != nil { return process }
        usleep(10_000)
    }
    process.terminate()
    throw AgentProcessError.notListening(socketPath)
}

func killAgent(_ process: Process) {
    guard process.isRunning else { return }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
}
