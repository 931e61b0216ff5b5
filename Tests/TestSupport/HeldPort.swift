import Foundation

/// A loopback TCP port that this object holds, so no other process can take it: bound and not
/// listening, every connection to it is refused; listening, the kernel completes handshakes
/// (its backlog) but nothing ever reads or answers — a peer that hangs.
public final class HeldPort: Sendable {
    public let port: Int
    private let socket: Int32

    public init(listening: Bool) {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let socket = socket
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) } }
        if listening { _ = listen(socket, 16) }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(socket) }
}
