// Framing of the host-agent protocol (docs/HOST-AGENT.md, "Frame layout").
//
// Every message is one frame: a fixed 19-byte header, then a JSON payload. All integers are big
// endian. The header is checked field by field AS SOON AS its bytes arrive, so garbage is refused
// after its first wrong byte and an oversized payload is refused from its length alone, before
// a single payload byte is read or buffered.
//
//   offset  size  field
//        0     4  magic "SEHA"
//        4     2  protocol version (UInt16, only 1 exists)
//        6     1  message kind (UInt8, see MessageKind)
//        7     8  request id (UInt64; an answer echoes its request's id)
//       15     4  payload length (UInt32, at most the receiver's cap)
//       19     n  payload (UTF-8 JSON object)

/// What a frame carries. An answer's kind is its request's kind + 1.
public enum MessageKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case capabilitiesRequest = 1
    case capabilitiesAnswer = 2
    case healthRequest = 3
    case healthAnswer = 4

    /// The kind that answers this request kind; nil for answer kinds.
    public var answerKind: MessageKind? {
        switch self {
        case .capabilitiesRequest: .capabilitiesAnswer
        case .healthRequest: .healthAnswer
        case .capabilitiesAnswer, .healthAnswer: nil
        }
    }

    /// Plain words for log lines, e.g. "health answer".
    public var description: String {
        switch self {
        case .capabilitiesRequest: "capabilities request"
        case .capabilitiesAnswer: "capabilities answer"
        case .healthRequest: "health request"
        case .healthAnswer: "health answer"
        }
    }
}

/// Why a byte stream is not a valid frame.
public enum FrameError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The stream does not start with "SEHA": not our protocol (e.g. an HTTP answer).
    case badMagic(found: [UInt8])
    /// A version this side does not speak. Refused, never guessed at.
    case unsupportedVersion(UInt16)
    /// A kind byte that names no MessageKind.
    case unknownKind(UInt8)
    /// The header announces more payload than the cap allows (checked before reading it).
    case oversized(length: UInt64, cap: Int)
    /// The stream ended inside a frame.
    case truncated(have: Int, need: Int)

    /// One line for an operator; bytes from the peer are shown log-safe.
    public var description: String {
        switch self {
        case .badMagic(let found):
            "not a host-agent frame: starts with \(LogSafe.hexAndText(found)) instead of \"SEHA\""
        case .unsupportedVersion(let version):
            "unsupported protocol version \(version) (this side speaks \(Frame.supportedVersions.map(String.init).joined(separator: ", ")))"
        case .unknownKind(let kind):
            "unknown message kind \(kind)"
        case .oversized(let length, let cap):
            "frame payload of \(length) bytes exceeds the \(cap)-byte cap"
        case .truncated(let have, let need):
            "stream ended inside a frame (\(have) of \(need) bytes)"
        }
    }
}

/// One decoded (or to-be-encoded) frame.
public struct Frame: Sendable, Equatable {
    /// The first four bytes of every frame, "SEHA".
    public static let magic: [UInt8] = Array("SEHA".utf8)
    /// The version this side writes by default.
    public static let currentVersion: UInt16 = 1
    /// Versions this build accepts. A frame with any other version is refused (docs/HOST-AGENT.md,
    /// "Versioning"): silently reading a future layout as today's would misread every field.
    public static let supportedVersions: Set<UInt16> = [1]
    /// Bytes before the payload: magic, version, kind, request id and payload length.
    public static let headerSize = 19
    /// Default payload cap. Real answers are well under 2 KiB; 64 KiB leaves room to grow while
    /// bounding what a hostile peer can make us buffer.
    public static let defaultMaxPayload = 64 * 1024
    /// No configuration may raise the cap past this, whatever it asks for.
    public static let absoluteMaxPayload = 16 * 1024 * 1024

    /// The header's protocol version; a decoded frame always has one in `supportedVersions`.
    public var version: UInt16
    /// What the payload holds; an answer's kind is its request's kind + 1.
    public var kind: MessageKind
    /// Chosen by the requester; an answer echoes its request's id.
    public var requestID: UInt64
    /// The JSON payload, without the header.
    public var payload: [UInt8]

    /// Nothing is checked here; `encoded(maxPayload:)` refuses a payload over the cap.
    public init(kind: MessageKind, requestID: UInt64, payload: [UInt8], version: UInt16 = Frame.currentVersion) {
        self.version = version
        self.kind = kind
        self.requestID = requestID
        self.payload = payload
    }

    /// Header plus payload. Refuses payloads over `maxPayload`, so we never send what a
    /// well-behaved receiver would have to refuse.
    public func encoded(maxPayload: Int = Frame.defaultMaxPayload) throws(FrameError) -> [UInt8] {
        let cap = Frame.clampCap(maxPayload)
        guard payload.count <= cap else { throw .oversized(length: UInt64(payload.count), cap: cap) }
        var bytes = Frame.header(version: version, kind: kind.rawValue, requestID: requestID, length: UInt32(payload.count))
        bytes.append(contentsOf: payload)
        return bytes
    }

    /// A header with any values: the encoder's, and in tests one no honest encoder would write.
    package static func header(magic: [UInt8] = Frame.magic, version: UInt16 = Frame.currentVersion, kind: UInt8, requestID: UInt64, length: UInt32) -> [UInt8]
    {
        var bytes = magic
        bytes.reserveCapacity(Frame.headerSize + Int(length))
        appendBigEndian(version, to: &bytes)
        bytes.append(kind)
        appendBigEndian(requestID, to: &bytes)
        appendBigEndian(length, to: &bytes)
        return bytes
    }

    package static func clampCap(_ cap: Int) -> Int {
        min(max(cap, 0), absoluteMaxPayload)
    }
}

private func appendBigEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    let size = MemoryLayout<T>.size
    for index in (0..<size).reversed() {
        bytes.append(UInt8(truncatingIfNeeded: value >> (index * 8)))
    }
}

private func readBigEndian<T: FixedWidthInteger>(_ type: T.Type, _ bytes: ArraySlice<UInt8>) -> T {
    var value: T = 0
    for byte in bytes {
        value = (value << 8) | T(byte)
    }
    return value
}

/// Incremental frame decoder: feed it bytes as they arrive, ask `next()` what it has.
///
/// After an error it stays failed: a byte stream has no resynchronisation point, so the only
/// safe continuation is to drop the connection.
public struct FrameDecoder: Sendable {
    /// What `next()` found: a shortfall in bytes, one whole frame, or the error that ended the stream.
    public enum Step: Sendable, Equatable {
        /// At least this many more bytes are needed to finish the current frame.
        case needMore(Int)
        case frame(Frame)
        case error(FrameError)
    }

    /// Largest payload accepted, in bytes, after clamping. A header announcing more is refused before its payload arrives.
    public let maxPayload: Int
    private var buffer: [UInt8] = []
    private var failure: FrameError?

    /// `maxPayload` (bytes) is clamped to `0...Frame.absoluteMaxPayload`.
    public init(maxPayload: Int = Frame.defaultMaxPayload) {
        self.maxPayload = Frame.clampCap(maxPayload)
    }

    /// Bytes held that do not yet form a whole frame.
    public var bufferedCount: Int { buffer.count }

    /// Appends received bytes; nothing is checked until `next()`. Ignored once the decoder has failed.
    public mutating func feed<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        guard failure == nil else { return }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole frame, how many more bytes the current one needs, or the error. Once failed,
    /// it returns that same error forever.
    public mutating func next() -> Step {
        if let failure { return .error(failure) }
        switch inspectHeader() {
        case .failure(let error):
            failure = error
            buffer = []  // nothing after a bad header means anything; do not keep it
            return .error(error)
        case .success(nil):
            return .needMore(Frame.headerSize - buffer.count)
        case .success(let header?):
            let total = Frame.headerSize + header.length
            guard buffer.count >= total else { return .needMore(total - buffer.count) }
            let frame = Frame(
                kind: header.kind, requestID: header.requestID,
                payload: Array(buffer[Frame.headerSize..<total]), version: header.version)
            buffer.removeFirst(total)
            return .frame(frame)
        }
    }

    /// Call at end-of-stream: an error if the stream stopped inside a frame.
    public func finish() -> FrameError? {
        if let failure { return failure }
        guard !buffer.isEmpty else { return nil }
        switch inspectHeader() {
        case .failure(let error): return error
        case .success(nil): return .truncated(have: buffer.count, need: Frame.headerSize)
        case .success(let header?): return .truncated(have: buffer.count, need: Frame.headerSize + header.length)
        }
    }

    private struct Header {
        var version: UInt16
        var kind: MessageKind
        var requestID: UInt64
        var length: Int
    }

    /// Checks whatever part of the header is present, in wire order; nil until it is complete.
    private func inspectHeader() -> Result<Header?, FrameError> {
        let have = buffer.count
        let magicBytes = buffer.prefix(Frame.magic.count)
        guard magicBytes.elementsEqual(Frame.magic.prefix(magicBytes.count)) else {
            return .failure(.badMagic(found: Array(buffer.prefix(16))))
        }
        guard have >= 6 else { return .success(nil) }
        let version = readBigEndian(UInt16.self, buffer[4..<6])
        guard Frame.supportedVersions.contains(version) else { return .failure(.unsupportedVersion(version)) }
        guard have >= 7 else { return .success(nil) }
        guard let kind = MessageKind(rawValue: buffer[6]) else { return .failure(.unknownKind(buffer[6])) }
        guard have >= Frame.headerSize else { return .success(nil) }
        let requestID = readBigEndian(UInt64.self, buffer[7..<15])
        let length = readBigEndian(UInt32.self, buffer[15..<19])
        guard Int(length) <= maxPayload else { return .failure(.oversized(length: UInt64(length), cap: maxPayload)) }
        return .success(Header(version: version, kind: kind, requestID: requestID, length: Int(length)))
    }
}
