/// EDGELESS's own arithmetic, for checking the functions that reimplement it: its generator
/// (edgeless_function::lcg) and how Rust writes an f32.
enum EdgelessReference {
    /// The generator with glib's constants; the same seed draws the same f32 as EDGELESS's functions.
    struct Generator {
        var seed: UInt32
        mutating func next() -> Float {
            seed = (1_103_515_245 &* seed &+ 12345) % 2_147_483_648
            return Float(seed) / 2_147_483_648
        }
        mutating func draw(_ count: Int) -> [Float] {
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBufferPointer { values in
                for index in values.indices { values[index] = next() }
            }
            return values
        }
    }

    /// FNV-1a (64 bits) over each element's bit pattern taken as one 32-bit word, in order: what
    /// matrix_mul answers a call with.
    static func digest(_ values: [Float]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        values.withUnsafeBufferPointer { values in
            for value in values { hash = (hash ^ UInt64(value.bitPattern)) &* 0x100_0000_01b3 }
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// a × b for n × n row-major matrices, each element summed over k in order as EDGELESS's loop does.
    static func product(_ a: [Float], _ b: [Float], n: Int) -> [Float] {
        var out = [Float](repeating: 0, count: n * n)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { out in
                    for i in 0..<n {
                        for k in 0..<n {
                            let x = a[i * n + k]
                            for j in 0..<n { out[i * n + j] += x * b[k * n + j] }
                        }
                    }
                }
            }
        }
        return out
    }

    /// x as Rust's Display writes an f32: the shortest digits that read back to x, never an
    /// exponent ("0.16977254", "1", "0.0000123"). Swift's description has the same digits,
    /// sometimes with an exponent ("1e-05", "1.0").
    static func rustDisplay(_ x: Float) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        let sign = x.sign == .minus ? "-" : ""
        let text = x.magnitude.description
        let parts = text.split(separator: "e", maxSplits: 1)
        let mantissa = parts[0]
        var point = mantissa.firstIndex(of: ".").map { mantissa.distance(from: mantissa.startIndex, to: $0) } ?? mantissa.count
        point += parts.count > 1 ? Int(parts[1])! : 0
        var digits = Array(mantissa.filter { $0 != "." })
        while digits.first == "0" {
            digits.removeFirst()
            point -= 1
        }
        while digits.last == "0" { digits.removeLast() }
        if digits.isEmpty { return sign + "0" }
        if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + String(digits) }
        if point < digits.count { return sign + String(digits[..<point]) + "." + String(digits[point...]) }
        return sign + String(digits) + String(repeating: "0", count: point - digits.count)
    }
}
