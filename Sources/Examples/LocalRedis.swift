import Foundation
import Support

/// A redis-server of our own on a free loopback port (Debian's `redis-server`, installed by
/// scripts/install-deps.sh), stopped when released. For the examples and the tests.
///
/// redis-server cannot bind port 0 and report the port it got, so a free port is picked first;
/// another process may take it before redis binds it, so a redis that exits at once is started
/// again on another port (up to five times) instead of failing the run.
///
/// `Sendable`: both properties are immutable; the process is signalled and reaped only in deinit.
public final class LocalRedis: Sendable {
    /// The loopback port redis listens on.
    public let port: Int
    private let process: ChildProcess

    /// Starts redis-server and waits up to 5 s per port for it to answer. Throws if /usr/bin/redis-server
    /// is missing or redis does not come up.
    public init() throws {
        for _ in 0..<5 {
            let port = LocalRedis.freePort()
            let process: ChildProcess
            do {
                process = try ChildProcess.spawn(
                    "/usr/bin/redis-server",
                    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"])
            } catch {
                throw ExampleRunner.Failure("\(error); install redis-server with scripts/install-deps.sh")
            }
            let deadline = ContinuousClock.now + .seconds(5)
            while !process.hasExited, ContinuousClock.now < deadline {
                if (try? LocalRedis.command(["PING"], port: port)) != nil {
                    self.port = port
                    self.process = process
                    return
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            process.signal(SIGKILL)
            process.wait()
            guard ContinuousClock.now >= deadline else { continue }  // exited: most likely the port was taken
            throw ExampleRunner.Failure("redis-server did not come up on port \(port) within 5 s")
        }
        throw ExampleRunner.Failure("redis-server exited at once on five free ports in a row")
    }

    /// It keeps no data, so SIGKILL; waited for, so it leaves no zombie.
    deinit {
        process.signal(SIGKILL)
        process.wait()
    }

    /// The redis url to put in a workflow, e.g. "redis://127.0.0.1:40123/".
    public var url: String { "redis://127.0.0.1:\(port)/" }

    /// GET through redis-cli; "" for a missing key.
    public func get(_ key: String) throws -> String { try command(["GET", key]) }

    /// Any command through redis-cli, e.g. `["CLIENT", "KILL", "TYPE", "normal"]`; its raw output.
    public func command(_ arguments: [String]) throws -> String { try LocalRedis.command(arguments, port: port) }

    private static func command(_ arguments: [String], port: Int) throws -> String {
        let result = try ChildProcess.run("/usr/bin/redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--raw"] + arguments)
        guard result.status == 0 else { throw ExampleRunner.Failure("redis-cli \(arguments.first ?? "") failed: \(result.output)") }
        let text = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.hasPrefix("Could not connect") else { throw ExampleRunner.Failure(text) }
        return text
    }

    /// A port the kernel just handed out and released.
    private static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
