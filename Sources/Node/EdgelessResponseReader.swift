/// Reads a function's EDGELESS HTTP response (`{"status":…,"body":[…]|null,"headers":{…}}`,
/// fields in any order, unknown fields skipped) straight from its bytes. The ingress decodes
/// one per request; JSONDecoder cost more than the function call itself. Anything that is not
/// strict JSON of that shape is refused with the first thing wrong, like JSONDecoder would.
///
/// A reply is hostile input: nesting deeper than `maxDepth` is refused (a million `[` would
/// otherwise exhaust the thread's stack), and every byte is looked at a bounded number of
/// times, so the work is linear in the reply's size (itself capped by `limits.payload`).
struct EdgelessResponseReader {
    /// Arrays and objects inside one another, the response object itself counted.
    static let maxDepth = 64

    private let bytes: [UInt8]
    private var at = 0
    private var depth = 0

    static func read(_ bytes: [UInt8]) -> Result<EdgelessHTTPResponse, MessageProblem> {
        var reader = EdgelessResponseReader(bytes: bytes)
        do throws(MessageProblem) {
            let response = try reader.response()
            reader.skipSpace()
            guard reader.at == bytes.count else { throw reader.problem("text after the JSON object") }
            return .success(response)
        } catch {
            return .failure(error)
        }
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private mutating func response() throws(MessageProblem) -> EdgelessHTTPResponse {
        guard peek() == UInt8(ascii: "{") else {
            throw .notJSON(bytes)
        }
        var status: Int?
        var body: [UInt8]?
        var headers: [String: String] = [:]
        try object { (reader: inout EdgelessResponseReader, key: String) throws(MessageProblem) in
            switch key {
            case "status":
                guard let value = reader.integer() else { throw MessageProblem("field \"status\" has the wrong type") }
                status = value
            case "body":
                if reader.literal("null") {
                    body = nil
                    return
                }
                body = try reader.byteArray()
            case "headers":
                try reader.object { (reader: inout EdgelessResponseReader, name: String) throws(MessageProblem) in
                    guard reader.peek() == UInt8(ascii: "\"") else { throw MessageProblem("field \"headers.\(name)\" has the wrong type") }
                    headers[name] = try reader.string()
                }
            default:
                try reader.skipValue()
            }
        }
        guard let status else { throw MessageProblem("field \"status\" is missing") }
        return EdgelessHTTPResponse(status: status, body: body, headers: headers)
    }

    private func problem(_ what: String) -> MessageProblem { MessageProblem("not valid JSON at byte \(at): \(what)") }

    private mutating func skipSpace() {
        while at < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[at]) { at += 1 }
    }

    private mutating func peek() -> UInt8? {
        skipSpace()
        return at < bytes.count ? bytes[at] : nil
    }

    private mutating func expect(_ byte: UInt8) throws(MessageProblem) {
        guard peek() == byte else { throw problem("expected \"\(Character(Unicode.Scalar(byte)))\"") }
        at += 1
    }

    private mutating func literal(_ word: String) -> Bool {
        let word = Array(word.utf8)
        guard peek() != nil, bytes.count - at >= word.count, Array(bytes[at..<at + word.count]) == word else { return false }
        at += word.count
        return true
    }

    private mutating func object(_ field: (inout EdgelessResponseReader, String) throws(MessageProblem) -> Void) throws(MessageProblem) {
        try expect(UInt8(ascii: "{"))
        try enter()
        defer { depth -= 1 }
        if peek() == UInt8(ascii: "}") {
            at += 1
            return
        }
        while true {
            guard peek() == UInt8(ascii: "\"") else { throw problem("expected a field name") }
            let key = try string()
            try expect(UInt8(ascii: ":"))
            try field(&self, key)
            guard let next = peek() else { throw problem("unterminated object") }
            at += 1
            if next == UInt8(ascii: "}") { return }
            guard next == UInt8(ascii: ",") else { throw problem("expected \",\" or \"}\"") }
        }
    }

    /// One level deeper into an array or object; past `maxDepth` the reply is refused.
    private mutating func enter() throws(MessageProblem) {
        depth += 1
        guard depth <= Self.maxDepth else {
            throw problem("nested deeper than \(Self.maxDepth) arrays and objects")
        }
    }

    private mutating func integer() -> Int? {
        guard peek() != nil else { return nil }
        var value = 0
        var digits = 0
        let negative = bytes[at] == UInt8(ascii: "-")
        if negative { at += 1 }
        while at < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]), digits < 18 {
            value = value * 10 + Int(bytes[at] - UInt8(ascii: "0"))
            at += 1
            digits += 1
        }
        guard digits > 0, at == bytes.count || ![UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[at]) else { return nil }
        return negative ? -value : value
    }

    private mutating func byteArray() throws(MessageProblem) -> [UInt8] {
        guard peek() == UInt8(ascii: "[") else { throw MessageProblem("field \"body\" has the wrong type") }
        at += 1
        var out: [UInt8] = []
        if peek() == UInt8(ascii: "]") {
            at += 1
            return out
        }
        while true {
            guard let value = integer(), (0...255).contains(value) else { throw MessageProblem("field \"body.\(out.count)\" is not a byte (0…255)") }
            out.append(UInt8(value))
            guard let next = peek() else { throw problem("unterminated array") }
            at += 1
            if next == UInt8(ascii: "]") { return out }
            guard next == UInt8(ascii: ",") else { throw problem("expected \",\" or \"]\"") }
        }
    }

    private mutating func string() throws(MessageProblem) -> String {
        try expect(UInt8(ascii: "\""))
        var out: [UInt8] = []
        while at < bytes.count {
            let byte = bytes[at]
            at += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard at < bytes.count else { break }
                let escape = bytes[at]
                at += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar), literal("\\u") {
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw problem("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let character = Unicode.Scalar(scalar) else { throw problem("invalid \\u escape") }
                    out += Array(String(Character(character)).utf8)
                default: throw problem("invalid escape")
                }
            case 0..<0x20:
                at -= 1
                throw problem("control character in a string")
            default:
                out.append(byte)
            }
        }
        throw problem("unterminated string")
    }

    private mutating func hex4() throws(MessageProblem) -> UInt32 {
        guard bytes.count - at >= 4, let value = UInt32(String(decoding: bytes[at..<at + 4], as: UTF8.self), radix: 16) else {
            throw problem("invalid \\u escape")
        }
        at += 4
        return value
    }

    private mutating func skipValue() throws(MessageProblem) {
        switch peek() {
        case UInt8(ascii: "\"")?: _ = try string()
        case UInt8(ascii: "{")?: try object { (reader: inout EdgelessResponseReader, _: String) throws(MessageProblem) in try reader.skipValue() }
        case UInt8(ascii: "[")?:
            at += 1
            try enter()
            defer { depth -= 1 }
            if peek() == UInt8(ascii: "]") {
                at += 1
                return
            }
            while true {
                try skipValue()
                guard let next = peek() else { throw problem("unterminated array") }
                at += 1
                if next == UInt8(ascii: "]") { return }
                guard next == UInt8(ascii: ",") else { throw problem("expected \",\" or \"]\"") }
            }
        default:
            if literal("null") || literal("true") || literal("false") { return }
            let start = at
            while at < bytes.count, "+-.eE0123456789".utf8.contains(bytes[at]) { at += 1 }
            guard at > start, Double(String(decoding: bytes[start..<at], as: UTF8.self)) != nil else { throw problem("expected a value") }
        }
    }
}
