import Foundation
import Support

/// EDGELESS's HTTP messages as its functions see them (serde JSON of `edgeless_http`): what
/// `http-ingress` passes in a call and what a function passes when it calls `http-egress`.
/// `method` is serde's spelling of the enum ("Get", "Post", …) and `body` an array of bytes.
public struct EdgelessHTTPRequest: Codable, Sendable, Equatable {
    /// EDGELESS spelling ("Get", "Post", …); convert with `httpMethod` / `edgelessMethod`.
    public var method: String
    /// "HTTP" unless given.
    public var `protocol`: String
    public var host: String
    /// Path with query.
    public var path: String
    /// nil when the message has no body (JSON `null`), not the same as an empty array.
    public var body: [UInt8]?
    public var headers: [String: String]

    /// `method` must already be in EDGELESS spelling; nothing here checks it.
    public init(method: String, protocol: String = "HTTP", host: String, path: String, body: [UInt8]? = nil, headers: [String: String] = [:]) {
        self.method = method
        self.protocol = `protocol`
        self.host = host
        self.path = path
        self.body = body
        self.headers = headers
    }

    /// HTTP's upper-case method name for an EDGELESS method ("Post" → "POST"), nil for one
    /// EDGELESS does not define.
    public static func httpMethod(_ edgeless: String) -> String? {
        methods.first { $0.edgeless == edgeless }?.http
    }

    /// The EDGELESS name for an HTTP method, in any case ("post" → "Post"); nil for one other
    /// than GET, HEAD, POST, PUT, DELETE and PATCH.
    public static func edgelessMethod(_ http: String) -> String? {
        methods.first { $0.http == http.uppercased() }?.edgeless
    }

    static let methods: [(http: String, edgeless: String)] = [
        ("GET", "Get"), ("HEAD", "Head"), ("POST", "Post"), ("PUT", "Put"), ("DELETE", "Delete"), ("PATCH", "Patch"),
    ]
}

extension EdgelessHTTPRequest {
    /// The JSON serde writes, produced directly: the ingress encodes one per request, and
    /// JSONEncoder took longer than the function call it wraps.
    public var json: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(96 + host.utf8.count + path.utf8.count + (body?.count ?? 0) * 4 + headers.count * 48)
        func string(_ text: String) {
            out.append(UInt8(ascii: "\""))
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), byte]
                case 0..<0x20: out += Array(String(format: "\\u%04x", byte).utf8)
                default: out.append(byte)
                }
            }
            out.append(UInt8(ascii: "\""))
        }
        func literal(_ text: StaticString) { out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)) }
        literal("{\"method\":")
        string(method)
        literal(",\"protocol\":")
        string(`protocol`)
        literal(",\"host\":")
        string(host)
        literal(",\"path\":")
        string(path)
        literal(",\"body\":")
        if let body {
            out.append(UInt8(ascii: "["))
            for (index, byte) in body.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                if byte >= 100 { out.append(UInt8(ascii: "0") + byte / 100) }
                if byte >= 10 { out.append(UInt8(ascii: "0") + byte / 10 % 10) }
                out.append(UInt8(ascii: "0") + byte % 10)
            }
            out.append(UInt8(ascii: "]"))
        } else {
            literal("null")
        }
        literal(",\"headers\":{")
        for (index, (name, value)) in headers.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            string(name)
            out.append(UInt8(ascii: ":"))
            string(value)
        }
        literal("}}")
        return out
    }
}

/// EDGELESS's HTTP response as serde JSON: what a function answers an `http-ingress` call
/// with, and what `http-egress` answers a function's call with.
public struct EdgelessHTTPResponse: Codable, Sendable, Equatable {
    /// The HTTP status code.
    public var status: Int
    /// nil when there is no body (JSON `null`).
    public var body: [UInt8]?
    public var headers: [String: String]

    /// A response with no body and no headers unless given.
    public init(status: Int, body: [UInt8]? = nil, headers: [String: String] = [:]) {
        self.status = status
        self.body = body
        self.headers = headers
    }
}

/// What is wrong with a message a function sent, in words for the operator.
struct MessageProblem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }

    /// What a message that is not JSON starts with, escaped: it goes into a 502 body and the
    /// node's log, where a raw newline would forge a line.
    static func notJSON(_ bytes: [UInt8]) -> MessageProblem {
        MessageProblem("not JSON (\(bytes.count) bytes starting \"\(LogText.escaped(String(decoding: bytes.prefix(40), as: UTF8.self), maxBytes: 160))\")")
    }
}

enum EdgelessJSON {
    /// nil only if JSONEncoder refuses the value (it holds plain strings, integers and
    /// dictionaries of strings, so it does not), which the caller turns into an error reply.
    static func encode<Value: Encodable>(_ value: Value) -> [UInt8]? {
        // serde writes "/" unescaped; so do we, so a function's plain string search for a path works.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return (try? encoder.encode(value)).map(Array.init)
    }

    /// Decodes a message from a function, naming the first thing wrong with it.
    static func decode<Value: Decodable>(_ type: Value.Type, _ bytes: [UInt8]) -> Result<Value, MessageProblem> {
        do {
            return .success(try JSONDecoder().decode(type, from: Data(bytes)))
        } catch let DecodingError.keyNotFound(key, _) {
            return .failure(MessageProblem("field \"\(key.stringValue)\" is missing"))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            return .failure(MessageProblem("field \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type"))
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            return .failure(MessageProblem("field \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" is not valid"))
        } catch {
            return .failure(.notJSON(bytes))
        }
    }
}

extension EdgelessHTTPResponse {
    /// Headers that describe the connection or the message's framing, which the ingress owns: a
    /// function that set `content-length` could end its response early and smuggle a second
    /// one onto a keep-alive connection. Dropped from every reply.
    static let framingHeaders: Set<String> = [
        "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "proxy-connection", "te", "trailer",
    ]

    /// The headers a client may see: framing and hop-by-hop ones dropped; a name that is not
    /// an HTTP token, or a value holding CR, LF or NUL (a forged header line), refuses the reply.
    func clientHeaders() -> Result<[String: String], MessageProblem> {
        var kept: [String: String] = [:]
        for (name, value) in headers {
            guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenByte) else {
                return .failure(MessageProblem("header name \(name.debugDescription) is not an HTTP token"))
            }
            guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) else {
                return .failure(MessageProblem("header \(name) has a value with CR, LF or NUL in it"))
            }
            if Self.framingHeaders.contains(name.lowercased()) { continue }
            kept[name] = value
        }
        return .success(kept)
    }

    /// RFC 9110 `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
        default: return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
