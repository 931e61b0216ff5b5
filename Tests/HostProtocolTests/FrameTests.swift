import Testing

@testable import HostProtocol

@Suite("Frame encoding and incremental decoding")
struct FrameTests {
    let sample = Frame(kind: .healthAnswer, requestID: 0x0102_0304_0506_0708, payload: Array(#"{"load_1":0.5}"#.utf8))

    @Test func headerLayoutIsBigEndianAndNineteenBytes() throws {
        let bytes = try sample.encoded()
        #expect(bytes.count == Frame.headerSize + sample.payload.count)
        #expect(Array(bytes[0..<4]) == Array("SEHA".utf8))
        #expect(Array(bytes[4..<6]) == [0, 1])
        #expect(bytes[6] == MessageKind.healthAnswer.rawValue)
        #expect(Array(bytes[7..<15]) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(Array(bytes[15..<19]) == [0, 0, 0, UInt8(sample.payload.count)])
    }

    @Test func roundTripFedOneByteAtATime() throws {
        var decoder = FrameDecoder()
        let bytes = try sample.encoded()
        for (index, byte) in bytes.enumerated() {
            if index < bytes.count - 1 {
                guard case .needMore(let count) = decoder.next() else {
                    Issue.record("expected needMore before byte \(index)")
                    return
                }
                // Until the header is complete only the header's remainder is known.
                #expect(count == (index < Frame.headerSize ? Frame.headerSize - index : bytes.count - index))
            }
            decoder.feed([byte])
        }
        #expect(decoder.next() == .frame(sample))
        #expect(decoder.bufferedCount == 0)
        #expect(decoder.finish() == nil)
    }

    @Test func twoFramesInOneFeedComeOutInOrder() throws {
        let second = Frame(kind: .capabilitiesRequest, requestID: 9, payload: Array("{}".utf8))
        var decoder = FrameDecoder()
        decoder.feed(try sample.encoded() + second.encoded())
        #expect(decoder.next() == .frame(sample))
        #expect(decoder.next() == .frame(second))
        #expect(decoder.next() == .needMore(Frame.headerSize))
    }

    @Test func truncatedHeaderAndTruncatedPayloadAreReportedAtEndOfStream() throws {
        let bytes = try sample.encoded()
        var inHeader = FrameDecoder()
        inHeader.feed(bytes.prefix(10))
        #expect(inHeader.next() == .needMore(Frame.headerSize - 10))
        #expect(inHeader.finish() == .truncated(have: 10, need: Frame.headerSize))

        var inPayload = FrameDecoder()
        inPayload.feed(bytes.dropLast(3))
        #expect(inPayload.next() == .needMore(3))
        #expect(inPayload.finish() == .truncated(have: bytes.count - 3, need: bytes.count))
    }

    @Test func garbageIsRefusedAtTheFirstWrongByte() {
        var http = FrameDecoder()
        http.feed(Array("H".utf8))  // the old tool's plain HTTP
        guard case .error(.badMagic(let found)) = http.next() else {
            Issue.record("expected badMagic")
            return
        }
        #expect(found == Array("H".utf8))

        var almost = FrameDecoder()
        almost.feed(Array("SEHX".utf8))
        #expect(almost.next() == .error(.badMagic(found: Array("SEHX".utf8))))
    }

    @Test func anUnknownVersionIsRefusedNotGuessed() {
        var decoder = FrameDecoder()
        decoder.feed(Frame.header(version: 2, kind: 1, requestID: 1, length: 2).prefix(6))
        #expect(decoder.next() == .error(.unsupportedVersion(2)))
        var zero = FrameDecoder()
        zero.feed(Frame.header(version: 0, kind: 1, requestID: 1, length: 2))
        #expect(zero.next() == .error(.unsupportedVersion(0)))
    }

    @Test func anUnknownKindIsRefused() {
        var decoder = FrameDecoder()
        decoder.feed(Frame.header(kind: 0x7f, requestID: 1, length: 2))
        #expect(decoder.next() == .error(.unknownKind(0x7f)))
    }

    @Test func oversizedIsRefusedFromTheHeaderAloneBeforeAnyPayload() {
        var decoder = FrameDecoder()
        decoder.feed(Frame.header(kind: 4, requestID: 1, length: 70_000))
        #expect(decoder.next() == .error(.oversized(length: 70_000, cap: 65_536)))

        var small = FrameDecoder(maxPayload: 16)
        small.feed(Frame.header(kind: 4, requestID: 1, length: 17))
        #expect(small.next() == .error(.oversized(length: 17, cap: 16)))

        var huge = FrameDecoder(maxPayload: Int.max)  // clamped: no cap above the absolute one
        #expect(huge.maxPayload == Frame.absoluteMaxPayload)
        huge.feed(Frame.header(kind: 4, requestID: 1, length: UInt32.max))
        #expect(huge.next() == .error(.oversized(length: UInt64(UInt32.max), cap: Frame.absoluteMaxPayload)))
    }

    @Test func aFailedDecoderStaysFailed() throws {
        var decoder = FrameDecoder()
        decoder.feed(Array("GET / HTTP/1.1\r\n".utf8))
        let first = decoder.next()
        decoder.feed(try sample.encoded())
        #expect(decoder.next() == first)
        #expect(decoder.finish() != nil)
    }

    @Test func encodingRefusesAPayloadOverTheCap() {
        let frame = Frame(kind: .healthAnswer, requestID: 1, payload: [UInt8](repeating: 0x20, count: 17))
        #expect(throws: FrameError.oversized(length: 17, cap: 16)) { try frame.encoded(maxPayload: 16) }
    }

    @Test func errorsReadAsOperatorMessages() {
        #expect(FrameError.badMagic(found: Array("HTTP".utf8)).description.contains("\"HTTP\""))
        #expect(FrameError.unsupportedVersion(7).description == "unsupported protocol version 7 (this side speaks 1)")
        #expect(FrameError.oversized(length: 70_000, cap: 65_536).description == "frame payload of 70000 bytes exceeds the 65536-byte cap")
    }
}
