import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Support

/// What a redis server answered to one command (RESP 2).
enum RedisReply: Equatable, Sendable {
    case status(String)
    case error(String)
    case integer(Int64)
    /// nil: the key does not exist.
    case bulk([UInt8]?)
}

/// Why a command got no reply; `description` names what failed.
struct RedisFailure: Error, CustomStringConvertible {
    let description: String
}

/// One connection to a redis server, speaking RESP over SwiftNIO. Commands are pipelined and
/// their replies matched in order; a command without a reply after `replyTimeout` fails and
/// closes the connection (its stream can no longer be trusted to line up).
final class RedisConnection: Sendable {
    /// A reply bigger than this closes the connection: the server is a peer, not a trusted party.
    static let maxReplyBytes = 16 << 20

    private let channel: any Channel

    private init(channel: any Channel) { self.channel = channel }

    static func connect(host: String, port: Int, timeout: TimeAmount, replyTimeout: TimeAmount) -> EventLoopFuture<RedisConnection> {
        ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPReplyDecoder()))
                    try channel.pipeline.syncOperations.addHandler(RedisCommandHandler(replyTimeout: replyTimeout))
                }
            }
            .connect(host: host, port: port)
            .map { RedisConnection(channel: $0) }
    }

    /// The event loop the connection's I/O runs on.
    var eventLoop: any EventLoop { channel.eventLoop }

    /// Sends one command (its parts as bulk strings) and completes with its reply.
    func send(_ command: [[UInt8]]) -> EventLoopFuture<RedisReply> {
        let promise = channel.eventLoop.makePromise(of: RedisReply.self)
        channel.writeAndFlush(RedisCommandHandler.Outbound(command: command, reply: promise)).cascadeFailure(to: promise)
        return promise.futureResult
    }

    func close() { channel.close(promise: nil) }
}

/// Writes commands as RESP arrays of bulk strings and completes their promises in order.
private final class RedisCommandHandler: ChannelDuplexHandler {
    struct Outbound {
        var command: [[UInt8]]
        var reply: EventLoopPromise<RedisReply>
    }
    typealias InboundIn = RedisReply
    typealias OutboundIn = Outbound
    typealias OutboundOut = ByteBuffer

    private let replyTimeout: TimeAmount
    private var waiting = CircularBuffer<(reply: EventLoopPromise<RedisReply>, deadline: Scheduled<Void>)>()

    init(replyTimeout: TimeAmount) { self.replyTimeout = replyTimeout }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let outbound = unwrapOutboundIn(data)
        var buffer = context.channel.allocator.buffer(capacity: outbound.command.reduce(16) { $0 + $1.count + 16 })
        buffer.writeString("*\(outbound.command.count)\r\n")
        for part in outbound.command {
            buffer.writeString("$\(part.count)\r\n")
            buffer.writeBytes(part)
            buffer.writeString("\r\n")
        }
        let channel = context.channel
        let timeout = replyTimeout
        let deadline = context.eventLoop.scheduleTask(in: timeout) {
            outbound.reply.fail(RedisFailure(description: "redis did not answer within \(timeout.nanoseconds / 1_000_000) ms"))
            channel.close(promise: nil)
        }
        waiting.append((outbound.reply, deadline))
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let next = waiting.popFirst() else {
            // A reply nobody asked for: the stream is out of step.
            return context.close(promise: nil)
        }
        next.deadline.cancel()
        next.reply.succeed(unwrapInboundIn(data))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(RedisFailure(description: "\(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisFailure(description: "redis closed the connection"))
        context.fireChannelInactive()
    }

    private func failAll(_ failure: RedisFailure) {
        while let next = waiting.popFirst() {
            next.deadline.cancel()
            next.reply.fail(failure)
        }
    }
}

/// Parses RESP 2 replies: status, error, integer and bulk strings. Arrays (which no command we
/// send answers with) and anything malformed or oversized are errors that close the connection.
struct RESPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = RedisReply

    /// A status, error or integer line longer than this is malformed.
    static let maxLineBytes = 4096

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let reply = try Self.parse(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(reply))
        return .continue
    }

    /// One reply from the front of `buffer`, consuming it; nil (consuming nothing) if it is
    /// not complete yet.
    static func parse(_ buffer: inout ByteBuffer) throws(RedisFailure) -> RedisReply? {
        var view = buffer
        guard let line = try readLine(&view) else { return nil }
        guard let kind = line.first else { throw RedisFailure(description: "redis sent an empty reply line") }
        let rest = String(decoding: line.dropFirst(), as: UTF8.self)
        let reply: RedisReply
        switch kind {
        case UInt8(ascii: "+"): reply = .status(LogText.escaped(rest, maxBytes: 512))
        case UInt8(ascii: "-"): reply = .error(LogText.escaped(rest, maxBytes: 512))
        case UInt8(ascii: ":"):
            guard rest.utf8.count <= 20, let value = Int64(rest) else { throw RedisFailure(description: "redis sent a malformed integer reply") }
            reply = .integer(value)
        case UInt8(ascii: "$"):
            guard rest.utf8.count <= 10, let length = Int(rest), (-1...RedisConnection.maxReplyBytes).contains(length) else {
                throw RedisFailure(
                    description: "redis sent a bulk reply length \"\(LogText.escaped(rest, maxBytes: 32))\" outside -1…\(RedisConnection.maxReplyBytes)")
            }
            if length == -1 {
                reply = .bulk(nil)
            } else {
                guard view.readableBytes >= length + 2 else { return nil }
                let bytes = view.readBytes(length: length) ?? []
                guard view.readBytes(length: 2) == [13, 10] else { throw RedisFailure(description: "redis sent a bulk reply without its CRLF") }
                reply = .bulk(bytes)
            }
        default:
            throw RedisFailure(
                description: "redis sent a reply of kind \"\(LogText.escaped(String(decoding: [kind], as: UTF8.self), maxBytes: 8))\" this node does not read")
        }
        buffer = view
        return reply
    }

    private static func readLine(_ view: inout ByteBuffer) throws(RedisFailure) -> [UInt8]? {
        let searched = min(view.readableBytes, maxLineBytes + 2)
        guard let bytes = view.getBytes(at: view.readerIndex, length: searched) else { return nil }
        guard let newline = bytes.firstIndex(of: 10) else {
            if searched == maxLineBytes + 2 { throw RedisFailure(description: "redis sent a reply line longer than \(maxLineBytes) bytes") }
            return nil
        }
        guard newline > 0, bytes[newline - 1] == 13 else { throw RedisFailure(description: "redis sent a reply line without CRLF") }
        view.moveReaderIndex(forwardBy: newline + 1)
        return Array(bytes[..<(newline - 1)])
    }
}
