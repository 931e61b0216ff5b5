// Text from a function (or any hostile source) on its way into the node's log: a newline
// would forge a log line, a terminal escape would repaint the operator's screen, and
// megabytes of it would drown everything else.

/// Makes untrusted text safe to put in a log line (see above).
public enum LogText {
    /// `text` on one line: backslash, CR, LF and tab as \\ \r \n \t, every other character that
    /// is not plainly printable as \u{…}; cut to at most `maxBytes` UTF-8 bytes, saying so.
    public static func escaped(_ text: String, maxBytes: Int) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            let piece: String
            switch scalar {
            case "\\": piece = "\\\\"
            case "\n": piece = "\\n"
            case "\r": piece = "\\r"
            case "\t": piece = "\\t"
            default: piece = isPrintable(scalar) ? String(scalar) : "\\u{\(String(scalar.value, radix: 16))}"
            }
            if out.utf8.count + piece.utf8.count > maxBytes {
                return out + "… (cut: \(text.utf8.count) bytes)"
            }
            out += piece
        }
        return out
    }

    /// Printable means: not a control, format (bidi overrides, zero-width), line or paragraph
    /// separator, surrogate, private-use or unassigned code point.
    public static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned: false
        default: true
        }
    }
}
