/// Sizes in the manifest may be written as an integer number of bytes or as text with a unit:
/// `"64 MiB"`, `"512KiB"`, `"1GB"`. Binary (KiB, MiB, GiB) and decimal (KB, MB, GB) units.
public enum ByteSize {
    private static let units: [(String, Int)] = [
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30),
        ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("B", 1),
    ]

    /// Bytes for `"64 MiB"`, `"512KiB"` or a plain integer string. Nil for a negative,
    /// non-integer or unknown-unit value, or one that overflows `Int`.
    public static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmingSpaces
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            let number = String(trimmed.dropLast(suffix.count)).trimmingSpaces
            guard let value = Int(number), value >= 0 else { return nil }
            return value.multipliedReportingOverflow(by: factor).overflow ? nil : value * factor
        }
        return Int(trimmed).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// `65536` → `"64 KiB"`, for messages and `inspect`.
    public static func format(_ bytes: Int) -> String { format(UInt64(max(0, bytes))) }

    /// Largest binary unit that fits, exact when whole (`"64 KiB"`), else one decimal (`"1.5 MiB"`).
    public static func format(_ bytes: UInt64) -> String {
        let steps: [(UInt64, String)] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        for (factor, unit) in steps where bytes >= factor {
            let value = Double(bytes) / Double(factor)
            return bytes % factor == 0 ? "\(bytes / factor) \(unit)" : "\(formatFixed(value, digits: 1)) \(unit)"
        }
        return "\(bytes) B"
    }
}

/// `String(format:)` needs Foundation; this module stays free of it.
public func formatFixed(_ value: Double, digits: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int(scaled / scale)
    let fraction = Int(scaled) - whole * Int(scale)
    let sign = value < 0 && scaled != 0 ? "-" : ""
    guard digits > 0 else { return "\(sign)\(whole)" }
    let fractionText = String(fraction)
    return "\(sign)\(whole).\(String(repeating: "0", count: digits - fractionText.count))\(fractionText)"
}

/// Free-function spelling of `ByteSize.format(_:)`, for callers outside this module.
public func formatBytes(_ bytes: UInt64) -> String { ByteSize.format(bytes) }

extension String {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while slice.first == " " || slice.first == "\t" { slice = slice.dropFirst() }
        while slice.last == " " || slice.last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
