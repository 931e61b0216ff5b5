/// The node API's credential: 32 random bytes from the system's generator (getrandom), written
/// as 64 lower-case hex digits. The runtime makes a new one at every start and keeps it only in
/// memory and in its 0600 control file (`ControlFile`), never on a command line.
public struct ControlToken: Sendable, CustomStringConvertible {
    /// Random bytes per token; the text form has twice as many hex digits.
    public static let byteCount = 32
    /// The token as lower-case hex. A secret: never log it (`description` hides it).
    public let text: String

    /// A new random token.
    public init() {
        var generator = SystemRandomNumberGenerator()
        text = (0..<Self.byteCount).map { _ in
            let byte = UInt8.random(in: .min ... .max, using: &generator)
            return String(byte >> 4, radix: 16) + String(byte & 0xF, radix: 16)
        }.joined()
    }

    /// A token read back from a control file: exactly 64 hex digits.
    public init?(text: String) {
        guard text.utf8.count == Self.byteCount * 2, text.utf8.allSatisfy({ $0.isHexDigit }) else { return nil }
        self.text = text.lowercased()
    }

    /// The token itself is never printed by accident (logs, error messages).
    public var description: String { "<control token>" }

    /// The `Authorization` header value that carries it.
    public var authorization: String { "Bearer " + text }

    /// Whether `presented` is this token, in time that does not depend on where they differ (a
    /// timing side channel would let a caller find it byte by byte). Only the length, which is
    /// public, may end the comparison early.
    func matches(_ presented: Substring) -> Bool {
        let expected = Array(text.utf8)
        let given = Array(presented.utf8)
        guard expected.count == given.count else { return false }
        var difference: UInt8 = 0
        for index in expected.indices { difference |= expected[index] ^ given[index] }
        return difference == 0
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self)
    }
}
