// Turning hostile input into text that is safe to put in a log line.
//
// Anything that came from the agent may contain terminal escapes, newlines (forged log lines)
// or megabytes of text. Before it reaches an operator it is cut short and every character that
// is not plainly printable is shown as an escape.

package enum LogSafe {
    /// `text` in quotes, at most `limit` characters, non-printables escaped as \u{…}.
    package static func quote(_ text: String, limit: Int = 32) -> String {
        var out = "\""
        var shown = 0
        for scalar in text.unicodeScalars {
            if shown == limit {
                out += "…\" (\(text.utf8.count) bytes)"
                return out
            }
            if isPrintable(scalar) && scalar != "\"" && scalar != "\\" {
                out.unicodeScalars.append(scalar)
            } else {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            }
            shown += 1
        }
        return out + "\""
    }

    /// Bytes as hex plus their printable ASCII, e.g. `48 54 54 50 ("HTTP")`.
    package static func hexAndText(_ bytes: [UInt8]) -> String {
        let hex = bytes.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined(separator: " ")
        let text = String(bytes.map { (0x20..<0x7f).contains($0) ? Character(UnicodeScalar($0)) : "." })
        return "\(hex) (\"\(text)\")"
    }

    /// Printable means: not a control, format (bidi overrides, zero-width), separator-line,
    /// surrogate, private-use or unassigned code point.
    package static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
            false
        default:
            true
        }
    }

    /// A byte count for people: "512 B", "8 GiB", "1.5 MiB".
    package static func bytes(_ value: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var unitIndex = 0
        var scaled = Double(value)
        while scaled >= 1024, unitIndex < units.count - 1 {
            scaled /= 1024
            unitIndex += 1
        }
        if unitIndex == 0 { return "\(value) B" }
        let rounded = (scaled * 10).rounded() / 10
        if rounded == rounded.rounded() { return "\(Int(rounded)) \(units[unitIndex])" }
        return "\(rounded) \(units[unitIndex])"
    }

    /// A number without a pointless ".0".
    package static func number(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
