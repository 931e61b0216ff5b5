// Lenient decoding of one answer field.
//
// A strict Codable struct throws away the WHOLE answer when one field has the wrong JSON type
// (say "load_5": "nan"). The agent is hostile, but one bad field is no reason to blank the good
// ones, so each field decodes on its own: into its value, or into "present but invalid" with a
// description of what was there instead. The plausibility checks then turn the latter into an
// unknown value with that reason.

/// A scalar type a wire field can hold, with the name used in operator messages.
public protocol WireScalar: Codable, Sendable, Equatable {
    static var wireTypeName: String { get }
}

extension UInt64: WireScalar {
    /// Shown as the expected type when a field is mistyped.
    public static var wireTypeName: String { "unsigned integer" }
}

extension Double: WireScalar {
    /// Shown as the expected type when a field is mistyped.
    public static var wireTypeName: String { "number" }
}

extension String: WireScalar {
    /// Shown as the expected type when a field is mistyped.
    public static var wireTypeName: String { "string" }
}

/// One field as it arrived. Absent (or JSON null) fields are `nil` at the use site, not a case
/// here: "the agent does not know" is allowed and is not an error.
public enum WireValue<Value: WireScalar>: Codable, Sendable, Equatable {
    case value(Value)
    /// Present, but not a `Value`; `found` says what it was (already log-safe).
    case invalid(found: String)

    /// Same as `.value(value)`.
    public init(_ value: Value) {
        self = .value(value)
    }

    /// The value as sent, or nil when it was `.invalid`. Still unchecked: bounds come from the client's checks.
    public var value: Value? {
        if case .value(let value) = self { return value }
        return nil
    }

    /// Never throws for a wrong type: a boolean, a mistyped value or an unreadable one becomes `.invalid`.
    /// Throws only when there is no single value to read.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // JSON true/false must never pass as 1/0 for a number.
        if Value.self != Bool.self, let flag = try? container.decode(Bool.self) {
            self = .invalid(found: "boolean \(flag)")
            return
        }
        if let value = try? container.decode(Value.self) {
            self = .value(value)
            return
        }
        self = .invalid(found: WireValue.describe(container))
    }

    /// Encodes the value; an invalid one is written as null so it is never passed on as if valid.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .value(let value): try container.encode(value)
        case .invalid: try container.encodeNil()
        }
    }

    private static func describe(_ container: any SingleValueDecodingContainer) -> String {
        if container.decodeNil() { return "null" }
        if let number = try? container.decode(Double.self) { return "number \(LogSafe.number(number))" }
        if let text = try? container.decode(String.self) { return "string \(LogSafe.quote(text))" }
        if (try? container.decode([String: Ignored].self)) != nil { return "an object" }
        if (try? container.decode([Ignored].self)) != nil { return "an array" }
        return "an unreadable value"  // e.g. 1e400, or a string with a lone surrogate
    }
}

/// Decodes anything and keeps nothing: used only to tell objects from arrays.
private struct Ignored: Decodable {
    package init(from decoder: any Decoder) throws {}
}
