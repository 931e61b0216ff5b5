/// toml++ (under TOMLKit 0.6, toml++ 3.4) *assumes* two things of its input and aborts on an
/// assertion when they do not hold (SwiftPM compiles it without NDEBUG; with NDEBUG they would
/// be `__builtin_assume`, undefined behaviour): that a table header starts with a key (`[;]`,
/// `[[`), and that an array is not closed by `}` (`a = [}]`). The fuzzer found both. The
/// manifest is read by `sign` and `inspect` before any signature exists, so such text is
/// refused here first. (The runtime parses a manifest only after its bytes matched the
/// signature, so there the parser never sees bytes nobody signed.)
enum TOMLGuard {
    /// Line, column (1-based) and reason of the first header that does not start with a
    /// bare-key character or a quote, or the first `}` or `]` that closes the other kind of
    /// bracket. Strings and comments are skipped, so only brackets TOML reads are judged.
    static func firstProblem(_ text: String) -> (line: Int, column: Int, reason: String)? {
        let bytes = Array(text.utf8)
        var index = 0
        var line = 1
        var lineStart = 0
        /// The open brackets of the value being read: `[` arrays and `{` inline tables.
        var open: [UInt8] = []
        var atLineStart = true
        func peek(_ offset: Int) -> UInt8? { index + offset < bytes.count ? bytes[index + offset] : nil }
        func isBlank(_ byte: UInt8?) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        func isKeyStart(_ byte: UInt8?) -> Bool {
            guard let byte else { return false }
            return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\n") {
                line += 1
                index += 1
                lineStart = index
                atLineStart = true
                continue
            }
            if atLineStart && isBlank(byte) {
                index += 1
                continue
            }
            let startsLine = atLineStart
            atLineStart = false
            switch byte {
            case UInt8(ascii: "#"):
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                let multi = peek(1) == byte && peek(2) == byte
                index += multi ? 3 : 1
                while index < bytes.count {
                    if byte == UInt8(ascii: "\"") && bytes[index] == UInt8(ascii: "\\") {
                        index += 2
                        continue
                    }
                    if bytes[index] == UInt8(ascii: "\n") {
                        if !multi { break }
                        line += 1
                        lineStart = index + 1
                    }
                    if bytes[index] == byte && (!multi || (peek(1) == byte && peek(2) == byte)) {
                        index += multi ? 3 : 1
                        break
                    }
                    index += 1
                }
            case UInt8(ascii: "["):
                if startsLine && open.isEmpty {
                    let column = index - lineStart + 1
                    index += peek(1) == UInt8(ascii: "[") ? 2 : 1
                    while isBlank(peek(0)) { index += 1 }
                    if !isKeyStart(peek(0)) { return (line, column, "a table header must start with a key (a bare key or a quoted one)") }
                    // The rest of the header is a key, then `]`: nothing in it opens a value.
                    while index < bytes.count, bytes[index] != UInt8(ascii: "\n"), bytes[index] != UInt8(ascii: "]") { index += 1 }
                } else {
                    open.append(byte)
                    index += 1
                }
            case UInt8(ascii: "{"):
                open.append(byte)
                index += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                let expected = byte == UInt8(ascii: "]") ? UInt8(ascii: "[") : UInt8(ascii: "{")
                if let last = open.last, last != expected {
                    return (
                        line, index - lineStart + 1,
                        last == UInt8(ascii: "[") ? "an array must be closed by ], not }" : "an inline table must be closed by }, not ]"
                    )
                }
                if !open.isEmpty { open.removeLast() }
                index += 1
            default:
                index += 1
            }
        }
        return nil
    }
}
