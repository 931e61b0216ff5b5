import Foundation
@_spi(Fuzzing) import WasmKit

/// A failure raised inside a host import; it travels out of WasmKit's `invoke` unchanged and
/// becomes a `FunctionError` naming the import.
struct GuestFault: Error {
    enum Kind { case fault, timeout, memoryLimit }
    var kind: Kind
    var reason: String
}

/// The state the `env` imports of one instance work on. Imports are bound when the instance is
/// prepared, before anyone knows which function it will serve; `start` fills in the rest.
///
/// `@unchecked Sendable`: its mutable fields are written while the instance is prepared (one
/// thread, before hand-over) and then only by the imports and the instance's own methods, all
/// of which run under the owning `FunctionInstance`'s guest lock.
final class HostContext: @unchecked Sendable {
    var id = InstanceID(node: UUID(), component: UUID())
    var functionName = ""
    var router: FunctionRouter?
    /// The instance's delayed casts and log gate; the instance owns both, and they outlive a
    /// restart (which cancels the timers but keeps the log's rate).
    var timers: InstanceTimers?
    var log: GuestLog?
    var limits = FunctionLimits()
    var memory: Memory?
    var allocate: Function?
    /// Set per invocation: the call chain this invocation runs in, and its deadline.
    var context = CallContext()
    var deadline: UInt64 = .max
    /// What the instance last passed to `sync_asm`: a restart after a failure starts from it.
    var lastSyncedState: [UInt8] = []

    func checkDeadline() throws {
        if DispatchTime.now().uptimeNanoseconds > deadline {
            throw GuestFault(kind: .timeout, reason: "time limit")
        }
    }

    /// Reads guest bytes after checking the range lies inside memory and under the payload cap.
    func read(_ pointer: UInt32, _ length: UInt32, _ what: String) throws -> [UInt8] {
        guard Int(length) <= limits.payloadBytes else {
            throw GuestFault(kind: .fault, reason: "\(what) of \(length) bytes exceeds limits.payload (\(limits.payloadBytes) bytes)")
        }
        guard let memory, Int(pointer) + Int(length) <= memory.byteCount else {
            throw GuestFault(kind: .fault, reason: "\(what) at \(pointer)+\(length) lies outside the function's \(memory?.byteCount ?? 0)-byte memory")
        }
        guard length > 0 else { return [] }
        return memory.withUnsafeBufferPointer(offset: UInt(pointer), count: Int(length)) { Array($0) }
    }

    func write(_ bytes: [UInt8], at pointer: UInt32, _ what: String) throws {
        guard let memory, Int(pointer) + bytes.count <= memory.byteCount else {
            throw GuestFault(kind: .fault, reason: "\(what) at \(pointer)+\(bytes.count) lies outside the function's memory")
        }
        guard !bytes.isEmpty else { return }
        memory.withUnsafeMutableBufferPointer(offset: UInt(pointer), count: bytes.count) { $0.copyBytes(from: bytes) }
    }

    /// Lengths and pointers are written as 4 little-endian bytes: a 64-bit host must not write 8.
    func writeU32(_ value: UInt32, at pointer: UInt32, _ what: String) throws {
        try write(withUnsafeBytes(of: value.littleEndian, Array.init), at: pointer, what)
    }

    func readU32(at pointer: UInt32, _ what: String) throws -> UInt32 {
        let bytes = try read(pointer, 4, what)
        return UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
    }

    func readText(_ pointer: UInt32, _ length: UInt32, _ what: String) throws -> String {
        String(decoding: try read(pointer, length, what), as: UTF8.self)
    }

    /// Copies bytes into a buffer the guest allocates (for call replies).
    func copyIntoGuest(_ bytes: [UInt8], _ what: String) throws -> UInt32 {
        guard let allocate else { throw GuestFault(kind: .fault, reason: "no edgeless_mem_alloc") }
        guard case let .i32(pointer)? = try allocate.invoke([.i32(UInt32(bytes.count))]).first else {
            throw GuestFault(kind: .fault, reason: "edgeless_mem_alloc returned no pointer")
        }
        guard pointer != 0 || bytes.isEmpty else {
            throw GuestFault(kind: .memoryLimit, reason: "edgeless_mem_alloc(\(bytes.count)) returned NULL")
        }
        try write(bytes, at: pointer, what)
        return pointer
    }

    func destination(_ text: String) -> Destination { text == "self" ? .instance(id) : .alias(text) }

    func route(_ body: (FunctionRouter) throws -> Void) throws {
        try checkDeadline()
        guard let router else { return }
        try body(router)
    }

    /// The `env` imports, bound to this context.
    func imports(store: Store) -> Imports {
        var imports = Imports()
        func define(_ name: String, _ body: @escaping (HostContext, [Value]) throws -> [Value]) {
            let type = FunctionABI.imports.first { $0.name == name }!.type
            imports.define(
                module: FunctionABI.importModule, name: name,
                Function(store: store, type: type) { [unowned self] _, arguments in try body(self, arguments) })
        }
        define("cast_raw_asm") { host, a in
            let node = try host.read(a[0].i32, 16, "cast_raw_asm node id")
            let component = try host.read(a[1].i32, 16, "cast_raw_asm component id")
            let payload = try host.read(a[2].i32, a[3].i32, "cast_raw_asm payload")
            try host.route { $0.cast(from: host.id, to: .instance(InstanceID(nodeBytes: node, componentBytes: component)), payload: payload) }
            return []
        }
        define("cast_asm") { host, a in
            let target = try host.readText(a[0].i32, a[1].i32, "cast_asm target")
            let payload = try host.read(a[2].i32, a[3].i32, "cast_asm payload")
            try host.route { $0.cast(from: host.id, to: host.destination(target), payload: payload) }
            return []
        }
        define("call_raw_asm") { host, a in
            let node = try host.read(a[0].i32, 16, "call_raw_asm node id")
            let component = try host.read(a[1].i32, 16, "call_raw_asm component id")
            let payload = try host.read(a[2].i32, a[3].i32, "call_raw_asm payload")
            return [
                .i32(try host.call(.instance(InstanceID(nodeBytes: node, componentBytes: component)), payload, out: a[4].i32, length: a[5].i32, "call_raw_asm"))
            ]
        }
        define("call_asm") { host, a in
            let target = try host.readText(a[0].i32, a[1].i32, "call_asm target")
            let payload = try host.read(a[2].i32, a[3].i32, "call_asm payload")
            return [.i32(try host.call(host.destination(target), payload, out: a[4].i32, length: a[5].i32, "call_asm"))]
        }
        define("telemetry_log_asm") { host, a in
            let level = LogLevel(rawValue: Int32(bitPattern: a[0].i32)) ?? .info
            let target = try host.readText(a[1].i32, a[2].i32, "telemetry_log_asm target")
            let message = try host.readText(a[3].i32, a[4].i32, "telemetry_log_asm message")
            try host.route { router in
                guard let (admitted, dropped) = host.log.map({ $0.admit() }) else { return }
                guard admitted else { return }
                if dropped > 0 {
                    router.log(
                        from: host.id, function: host.functionName, level: .warn, target: "secure-executor",
                        message: "\(dropped) lines dropped: over the rate limit of \(Int(GuestLog.linesPerSecond)) lines/s (bursts of \(Int(GuestLog.burst)))")
                }
                router.log(from: host.id, function: host.functionName, level: level, target: GuestLog.target(target), message: GuestLog.message(message))
            }
            return []
        }
        define("slf_asm") { host, a in
            try host.write(host.id.node.bytes, at: a[0].i32, "slf_asm node id")
            try host.write(host.id.component.bytes, at: a[1].i32, "slf_asm component id")
            return []
        }
        define("delayed_cast_asm") { host, a in
            let delay = UInt64(max(0, Int64(bitPattern: a[0].i64)))
            let target = try host.readText(a[1].i32, a[2].i32, "delayed_cast_asm target")
            let payload = try host.read(a[3].i32, a[4].i32, "delayed_cast_asm payload")
            try host.route { router in
                let (source, destination) = (host.id, host.destination(target))
                try host.timers?.schedule(afterMilliseconds: delay, bytes: payload.count + target.utf8.count) {
                    router.cast(from: source, to: destination, payload: payload)
                }
                router.scheduledDelayedCast(from: source, to: destination, payload: payload, delayMilliseconds: delay)
            }
            return []
        }
        define("sync_asm") { host, a in
            let state = try host.read(a[0].i32, a[1].i32, "sync_asm state")
            host.lastSyncedState = state
            try host.route { try $0.sync(from: host.id, function: host.functionName, state: state) }
            return []
        }
        return imports
    }

    /// A synchronous call out of the guest; on a reply, the bytes go into a buffer from the
    /// guest's allocator and its pointer and length into the two 4-byte out slots.
    private func call(_ destination: Destination, _ payload: [UInt8], out pointerSlot: UInt32, length lengthSlot: UInt32, _ name: String) throws -> UInt32 {
        try checkDeadline()
        guard let router else { return 0 }
        var chain = context
        chain.chain.append(id)
        switch router.call(from: id, to: destination, payload: payload, context: chain) {
        case .noReply:
            return 0
        case let .reply(bytes):
            guard bytes.count <= limits.payloadBytes else {
                throw GuestFault(kind: .fault, reason: "reply of \(bytes.count) bytes to \(name) exceeds limits.payload (\(limits.payloadBytes) bytes)")
            }
            let pointer = try copyIntoGuest(bytes, "\(name) reply")
            try writeU32(pointer, at: pointerSlot, "\(name) reply pointer slot")
            try writeU32(UInt32(bytes.count), at: lengthSlot, "\(name) reply length slot")
            return 1
        case .error:
            return 2
        }
    }
}
