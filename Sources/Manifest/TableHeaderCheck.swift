/// toml++ (under TOMLKit) *assumes* that a table header starts with a key: `[;]` or `[[;]]`
/// fails an assertion in a debug build and is undefined behaviour in a release build, where
/// the assertion becomes `__builtin_assume`. The manifest is read by `sign` and `inspect`
/// before any signature exists, so those headers are refused here first. (The runtime parses
/// a manifest only after its bytes matched the signature, so the parser never sees unsigned
/// bytes there.)
enum TableHeaderCheck {
    /// Line and column (1-based) of the first `[` / `[[` header whose first non-blank
    /// character is not a bare-key character or a quote. Strings, comments and brackets of
    /// array values are skipped, so only real headers are judged.
    static func firstBadHeader(_ text: String) -> (line: Int, column: Int)? {
        let bytes = Array(text.utf8)
        var index = 0, line = 1, lineStart = 0, depth = 0
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
            if atLineStart && isBlank(byte) { index += 1; continue }
            let startsLine = atLineStart
            atLineStart = false
            switch byte {
            case UInt8(ascii: "#"):
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                let multi = peek(1) == byte && peek(2) == byte
                index += multi ? 3 : 1
                while index < bytes.count {
                    if byte == UInt8(ascii: "\"") && bytes[index] == UInt8(ascii: "\\") { index += 2; continue }
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
                if startsLine && depth == 0 {
                    let column = index - lineStart + 1
                    index += peek(1) == UInt8(ascii: "[") ? 2 : 1
                    while isBlank(peek(0)) { index += 1 }
                    if !isKeyStart(peek(0)) { return (line, column) }
                    // The rest of the header is a key, then `]`: nothing in it opens a value.
                    while index < bytes.count, bytes[index] != UInt8(ascii: "\n"), bytes[index] != UInt8(ascii: "]") { index += 1 }
                } else {
                    depth += 1
                    index += 1
                }
            case UInt8(ascii: "]"):
                depth = max(0, depth - 1)
                index += 1
            default:
                index += 1
            }
        }
        return nil
    }
}
