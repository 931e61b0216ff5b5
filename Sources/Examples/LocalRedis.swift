import Foundation
import Support

/// A redis-server of our own on a free loopback port (Debian's `redis-server`, installed by
/// scripts/install-deps.sh), stopped when released. For the examples and the tests.
public final class LocalRedis: @unchecked Sendable {
    public let port: Int
    private let process: ChildProcess

    public init() throws {
        port = LocalRedis.freePort()
        do {
            process = try ChildProcess.spawn(
                "/usr/bin/redis-server",
                ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"])
        } catch {
            throw ExampleRunner.Failure("\(error); install redis-server with scripts/install-deps.sh")
        }
        var attempts = 0
        while (try? get("ping-probe")) == nil {
            attempts += 1
            guard attempts < 100 else { throw ExampleRunner.Failure("redis-server did not come up on port \(port) within 5 s") }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// It keeps no data, so SIGKILL; waited for, so it leaves no zombie.
    deinit {
        process.signal(SIGKILL)
        process.wait()
    }

    public var url: String { "redis://127.0.0.1:\(port)/" }

    /// GET through redis-cli; "" for a missing key.
    public func get(_ key: String) throws -> String {
        let result = try ChildProcess.run("/usr/bin/redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--raw", "GET", key])
        guard result.status == 0 else { throw ExampleRunner.Failure("redis-cli GET failed: \(result.output)") }
        let text = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.hasPrefix("Could not connect") else { throw ExampleRunner.Failure(text) }
        return text
    }

    /// A port the kernel just handed out and released.
    public static func freePort() -> Int {
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
