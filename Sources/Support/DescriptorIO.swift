import Glibc

/// The one copy of the loops around `pread` and `write`: both may transfer fewer bytes than
/// asked, or be interrupted by a signal (EINTR) before transferring any; callers want "all of
/// it, or why not".
///
/// Invariant for the buffer-taking function: it writes only inside `buffer`, and the pointer
/// does not outlive the call.
public enum DescriptorIO {
    /// What stopped a transfer early.
    public enum Shortfall: Error, Equatable {
        /// End of file after this many bytes.
        case endOfFile(after: Int)
        /// The call failed with this errno after this many bytes.
        case failed(errno: Int32, after: Int)

        /// The system's text for a failure; "end of file" otherwise.
        public var reason: String {
            switch self {
            case .endOfFile: return "end of file"
            case let .failed(code, _): return String(cString: strerror(code))
            }
        }
    }

    /// Fills all of `buffer` from `fd`, starting at `offset` of the file.
    public static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) -> Result<Void, Shortfall> {
        guard let base = buffer.baseAddress else { return .success(()) }
        var done = 0
        while done < buffer.count {
            let got = pread(fd, base + done, buffer.count - done, off_t(offset) + off_t(done))
            if got < 0 && errno == EINTR { continue }
            if got < 0 { return .failure(.failed(errno: errno, after: done)) }
            if got == 0 { return .failure(.endOfFile(after: done)) }
            done += got
        }
        return .success(())
    }

    /// Writes all of `bytes` to `fd` at its current offset (for O_APPEND, the end).
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Result<Void, Shortfall> {
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if result < 0 && errno == EINTR { continue }
            if result <= 0 { return .failure(.failed(errno: result < 0 ? errno : EIO, after: written)) }
            written += result
        }
        return .success(())
    }
}
