import Foundation
import HTTPServing
import Logging
import Testing

private let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A raw TCP client, so a test can misbehave the way an attacker's client does.
private final class RawClient {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(fd) }

    func send(_ text: String) { _ = text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }

    /// What arrives within `seconds`; `closed` when the server closed the connection.
    func receive(within seconds: Double) -> (text: String, closed: Bool) {
        var pending = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        var received: [UInt8] = []
        while ContinuousClock.now < deadline {
            let left = deadline - ContinuousClock.now
            guard poll(&pending, 1, Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)) > 0 else { break }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { return (String(decoding: received, as: UTF8.self), true) }
            received += buffer[0..<count]
            if String(decoding: received, as: UTF8.self).contains("\r\n\r\n") { break }
        }
        return (String(decoding: received, as: UTF8.self), false)
    }
}

@Suite struct ConnectionLimitsTests {
    @Test func aClientTricklingItsHeadIsCutOffAtTheHeadTimeout() async throws {
        let server = try await HTTPServer.start(limits: .init(headTimeout: .milliseconds(400)), logger: quiet) { _ in .text(200, "ok") }
        let slow = try RawClient(port: server.port)
        slow.send("GET / HTTP/1.1\r\nHost: x\r\n")
        var closedAfter: Int?
        // One header byte every 100 ms would keep an idle timer alive forever.
        for step in 1...40 {
            slow.send("X")
            if slow.receive(within: 0.1).closed {
                closedAfter = step
                break
            }
        }
        let honest = try RawClient(port: server.port)
        honest.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let answer = honest.receive(within: 5)
        await server.stop()
        #expect(closedAfter != nil, "the trickling client was never cut off")
        #expect((closedAfter ?? 99) <= 20, "cut off only after \(closedAfter ?? 0) × 100 ms")
        #expect(answer.text.hasPrefix("HTTP/1.1 200"), "\(answer.text)")
    }

    @Test func pastTheConnectionCapNewClientsWaitUntilOneCloses() async throws {
        let server = try await HTTPServer.start(limits: .init(headTimeout: .seconds(30), maxConnections: 2), logger: quiet) { _ in .text(200, "ok") }
        var idle: [RawClient] = [try RawClient(port: server.port), try RawClient(port: server.port)]
        // Both idle connections are accepted before the third client comes.
        let deadline = ContinuousClock.now + .seconds(5)
        while server.openConnections < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(server.openConnections == 2)
        let waiting = try RawClient(port: server.port)
        waiting.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let whileFull = waiting.receive(within: 1)
        idle.removeLast()
        let afterOneClosed = waiting.receive(within: 5)
        await server.stop()
        withExtendedLifetime(idle) {}
        #expect(whileFull.text.isEmpty && !whileFull.closed, "served past the cap: \(whileFull.text)")
        #expect(afterOneClosed.text.hasPrefix("HTTP/1.1 200"), "\(afterOneClosed.text)")
    }
}
