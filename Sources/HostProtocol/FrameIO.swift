import Glibc  // EPIPE, ECONNRESET, ENOTCONN

// Moving whole frames over a socket within a deadline. Shared by the client and the agent.

extension Duration {
    package var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}

extension Socket {
    /// Milliseconds left until `deadline`, rounded up, for poll.
    private static func remaining(until deadline: ContinuousClock.Instant) -> Int32 {
        let left = (deadline - .now).milliseconds
        if left <= 0 { return 0 }
        return Int32(min(left.rounded(.up), Double(Int32.max)))
    }

    /// Writes every byte or fails. EPIPE/ECONNRESET mean the peer closed: `.closed`.
    package func writeAll(_ bytes: [UInt8], deadline: ContinuousClock.Instant, timeout: Duration) throws(HostTransportError) {
        var offset = 0
        while offset < bytes.count {
            let written: Int
            do {
                written = try send(bytes[offset...])
            } catch {
                throw Socket.classify(error)
            }
            offset += written
            if offset == bytes.count { break }
            if written == 0 {
                let ready: Bool
                do {
                    ready = try wait(forWriting: true, milliseconds: Socket.remaining(until: deadline))
                } catch {
                    throw .system(error)
                }
                if !ready { throw .timeout(after: timeout) }
            }
        }
    }

    /// Reads exactly one frame. It asks the kernel only for the bytes the current frame still
    /// needs, so (a) nothing past the frame is consumed and (b) at most header + cap bytes are
    /// ever buffered; an oversized header is refused before its payload is read.
    package func readFrame(maxPayload: Int, deadline: ContinuousClock.Instant, timeout: Duration) throws(HostTransportError) -> Frame {
        var decoder = FrameDecoder(maxPayload: maxPayload)
        while true {
            let wanted: Int
            switch decoder.next() {
            case .frame(let frame): return frame
            case .error(let error): throw .frame(error)
            case .needMore(let count): wanted = count
            }
            let ready: Bool
            do {
                ready = try wait(milliseconds: Socket.remaining(until: deadline))
            } catch {
                throw .system(error)
            }
            if !ready { throw .timeout(after: timeout) }
            let received: ReceiveResult
            do {
                received = try receive(maxBytes: min(wanted, 64 * 1024))
            } catch {
                throw Socket.classify(error)
            }
            switch received {
            case .bytes(let bytes): decoder.feed(bytes)
            case .wouldBlock: continue
            case .endOfStream:
                if let error = decoder.finish() { throw .frame(error) }
                throw .closed
            }
        }
    }

    /// True when the connection can no longer carry a clean request/answer: the peer closed
    /// it, or sent bytes nobody asked for (which would be read as the next answer).
    package func isStale() -> Bool {
        (try? wait(milliseconds: 0)) ?? true
    }

    private static func classify(_ error: SystemError) -> HostTransportError {
        switch error.code {
        case EPIPE, ECONNRESET, ENOTCONN: .closed
        default: .system(error)
        }
    }
}
