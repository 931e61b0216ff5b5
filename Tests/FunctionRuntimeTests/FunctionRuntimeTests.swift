import Foundation
import Manifest
import MetricsTestKit
import Shield
import TestSupport
import Testing
import TrustedFiles
import WAT

@testable import FunctionRuntime

private func text(_ string: String) -> [UInt8] { Array(string.utf8) }

@Suite struct LifecycleTests {
    @Test func noopStartsAndMeasuresItsStartup() throws {
        let metrics = TestMetrics()
        let runtime = FunctionRuntime(preparedPerModule: 0, metrics: metrics)
        let instance = try runtime.start(try TestFunctions.code("noop"), function: "noop", router: RecordingRouter())
        #expect(instance.state == .running)
        #expect(instance.startup.moduleCached == false)
        #expect(instance.startup.totalNanoseconds > 0)
        #expect(instance.startup.parseValidateNanoseconds > 0 && instance.startup.instantiateNanoseconds > 0)
        let timer = try metrics.expectTimer("secure_executor_function_startup", [("phase", "total")])
        #expect(timer.values.count == 1)
        // A second start of the same code skips parsing.
        let second = try runtime.start(try TestFunctions.code("noop"), function: "noop", router: RecordingRouter())
        #expect(second.startup.moduleCached)
        try instance.cast(from: second.id, payload: text("x"))
        #expect(try instance.call(from: second.id, payload: []) == .noReply)
        try instance.stop()
        #expect(instance.state == .stopped)
        #expect(throws: FunctionError.self) { try instance.cast(from: second.id, payload: []) }
    }

    @Test func preparedInstancesMakeWarmStarts() throws {
        let runtime = FunctionRuntime(preparedPerModule: 1)
        let code = try TestFunctions.code("noop")
        let first = try runtime.start(code, function: "noop", router: RecordingRouter())
        #expect(!first.startup.instancePrepared)
        runtime.waitForPreparedInstances()
        let second = try runtime.start(code, function: "noop", router: RecordingRouter())
        #expect(second.startup.instancePrepared && second.startup.moduleCached)
        #expect(second.id != first.id)
    }

    @Test func everyImportIsRoutedAsTheABISays() throws {
        let router = RecordingRouter()
        let runtime = FunctionRuntime(preparedPerModule: 0)
        let id = InstanceID(node: UUID())
        router.setSelf(id)
        let instance = try runtime.start(try TestFunctions.code("messaging"), function: "messaging", id: id, initPayload: text("k=v"), router: router)
        for message in ["cast", "raw", "call", "callraw", "delayed", "self", "levels", "\u{00}\u{FF}binary"] {
            try instance.cast(from: id, payload: Array(message.utf8))
        }
        try instance.stop()
        let expected: [Effect] =
            [
                .log(level: .info, target: "init", message: "k=v"),
                .cast(to: "out", payload: text("hello")),
                .cast(to: "self", payload: text("to-myself")),
                .call(to: "out", payload: text("question"), reply: .noReply),
                .log(level: .warn, target: "function", message: "no reply"),
                .call(to: "self", payload: text("raw-question"), reply: .noReply),
                .log(level: .info, target: "function", message: "raw no reply"),
                .delayedCast(to: "out", payload: text("later"), delayMilliseconds: 1500),
                .cast(to: "self", payload: text("again")),
            ] + LogLevel.allCases.map { .log(level: $0, target: "levels", message: "x") } + [
                .cast(to: "echo", payload: Array("\u{00}\u{FF}binary".utf8)),
                .log(level: .info, target: "function", message: "stopping"),
            ]
        #expect(router.effects == expected)
    }

    @Test func callRepliesNoRepliesAndErrors() throws {
        let runtime = FunctionRuntime(preparedPerModule: 0)
        let responder = try runtime.start(try TestFunctions.code("responder"), function: "responder", router: RecordingRouter())
        let caller = InstanceID(node: UUID())
        #expect(try responder.call(from: caller, payload: text("ping")) == .reply(text("pong")))
        #expect(try responder.call(from: caller, payload: text("quiet")) == .noReply)
        guard case .error? = try? responder.call(from: caller, payload: text("fail")) else {
            Issue.record("no error reply")
            return
        }
        let binary: [UInt8] = [0, 255, 1, 254]
        #expect(try responder.call(from: caller, payload: binary) == .reply(binary))
    }

    @Test func stateSurvivesARestart() throws {
        let router = LocalRouter()
        let runtime = FunctionRuntime(preparedPerModule: 0)
        let code = try TestFunctions.code("counter")
        let first = try runtime.start(code, function: "counter", router: router)
        router.register(first, name: "counter", outputs: [:])
        for _ in 0..<3 { try first.cast(from: first.id, payload: []) }
        try first.stop()
        #expect(router.savedState(of: "counter") == text("3"))
        let second = try runtime.start(code, function: "counter", state: router.savedState(of: "counter"), router: router)
        try second.cast(from: second.id, payload: [])
        #expect(try second.call(from: second.id, payload: []) == .reply(text("4")))
    }

    @Test func failurePolicyRestartsFromSyncedStateOrStops() throws {
        let code = try TestFunctions.code("counter")
        let restarting = FunctionRuntime(preparedPerModule: 0)
        let counter = try restarting.start(code, function: "counter", router: RecordingRouter())
        try counter.cast(from: counter.id, payload: [])
        try counter.cast(from: counter.id, payload: [])
        #expect(throws: FunctionError.self) { try counter.cast(from: counter.id, payload: text("crash")) }
        #expect(counter.state == .running && counter.restarts == 1)
        #expect(try counter.call(from: counter.id, payload: []) == .reply(text("2")))

        var limits = FunctionLimits()
        limits.restartOnFailure = false
        let stopping = FunctionRuntime(limits: limits, preparedPerModule: 0)
        let fragile = try stopping.start(code, function: "counter", router: RecordingRouter())
        #expect(throws: FunctionError.self) { try fragile.cast(from: fragile.id, payload: text("crash")) }
        guard case .failed(let reason) = fragile.state else {
            Issue.record("not failed")
            return
        }
        #expect(reason.contains("trapped in handle_cast_asm"))
        do {
            try fragile.cast(from: fragile.id, payload: [])
            Issue.record("a failed instance took an event")
        } catch {
            guard case .notRunning = error else {
                Issue.record("\(error)")
                return
            }
        }
    }

    @Test func integersFanOutToTwoOutputs() throws {
        let router = LocalRouter()
        let runtime = FunctionRuntime(preparedPerModule: 0)
        let splitter = try runtime.start(try TestFunctions.code("splitter"), function: "splitter", router: router)
        let plus = try runtime.start(try TestFunctions.code("counter"), function: "plus", router: router)
        let twice = try runtime.start(try TestFunctions.code("counter"), function: "twice", router: router)
        router.register(splitter, name: "splitter", outputs: ["plus": "plus", "twice": "twice"])
        router.register(plus, name: "plus", outputs: [:])
        router.register(twice, name: "twice", outputs: [:])
        let recording = RecordingRouter()
        let probe = try runtime.start(try TestFunctions.code("splitter"), function: "probe", router: recording)
        try probe.cast(from: probe.id, payload: text("41"))
        try probe.cast(from: probe.id, payload: text("-7"))
        try probe.cast(from: probe.id, payload: text("forty"))
        #expect(
            recording.effects == [
                .cast(to: "plus", payload: text("42")), .cast(to: "twice", payload: text("82")),
                .cast(to: "plus", payload: text("-6")), .cast(to: "twice", payload: text("-14")),
                .log(level: .error, target: "function", message: "not an integer"),
            ])
        for value in ["1", "2", "3"] { try splitter.cast(from: splitter.id, payload: text(value)) }
        router.waitUntilIdle()
        #expect(try plus.call(from: plus.id, payload: []) == .reply(text("3")))
        #expect(try twice.call(from: twice.id, payload: []) == .reply(text("3")))
        #expect(router.undelivered.isEmpty)
    }
}

@Suite struct HostileFunctionTests {
    /// A well-behaved instance that must keep working next to every hostile one.
    func bystander(_ runtime: FunctionRuntime) throws -> FunctionInstance {
        try runtime.start(try TestFunctions.code("responder"), function: "bystander", router: RecordingRouter())
    }

    func failure(_ request: String, limits: FunctionLimits = FunctionLimits()) throws -> FunctionError? {
        let runtime = FunctionRuntime(limits: limits, preparedPerModule: 0)
        let good = try bystander(runtime)
        let bad = try runtime.start(try TestFunctions.code("hostile"), function: "hostile", router: RecordingRouter())
        var caught: FunctionError?
        do { try bad.cast(from: bad.id, payload: text(request)) } catch { caught = error }
        if caught != nil, bad.state == .running, bad.restarts == 0 { Issue.record("\(request): failure neither stopped nor restarted the instance") }
        #expect(try good.call(from: good.id, payload: text("ping")) == .reply(text("pong")), "bystander after \(request)")
        return caught
    }

    @Test func endlessLoopRunsOutOfFuel() throws {
        var limits = FunctionLimits()
        limits.fuel = 2_000_000
        let error = try failure("loop", limits: limits)
        guard case .outOfFuel(function: "hostile", _, handler: "handle_cast_asm", fuel: 2_000_000)? = error else {
            Issue.record("\(String(describing: error))")
            return
        }
        #expect(error!.description.contains("ran out of fuel"))
    }

    @Test func memoryGrowthStopsAtTheLimit() throws {
        var limits = FunctionLimits()
        limits.memoryBytes = 4 << 20
        guard case .memoryLimit(_, _, limit: 4 << 20)? = try failure("grow", limits: limits) else {
            Issue.record("grow not limited")
            return
        }
    }

    @Test func trapsAndDeepRecursionAreReported() throws {
        guard case .trap(_, _, _, let reason)? = try failure("trap") else {
            Issue.record("trap")
            return
        }
        #expect(reason.contains("unreachable"))
        // C recursion exhausts the shadow stack in linear memory or the interpreter's call
        // stack, whichever comes first; either is a trap, never a host crash.
        guard case .trap(_, _, _, let overflow)? = try failure("recurse") else {
            Issue.record("recurse")
            return
        }
        #expect(overflow.contains("call stack exhausted") || overflow.contains("out of bounds memory access"))
    }

    @Test(arguments: ["cast", "cast-payload", "cast_raw", "call", "call_raw", "log", "slf", "delayed", "sync", "overflow"])
    func badPointersToImportsAreGuestFaults(_ request: String) throws {
        guard case .guestFault(_, _, _, let reason)? = try failure(request) else {
            Issue.record("\(request) not caught")
            return
        }
        #expect(reason.contains("outside the function's") || reason.contains("exceeds limits.payload"), "\(reason)")
    }

    @Test func hugePayloadsAreRefusedBothWays() throws {
        guard case .guestFault(_, _, _, let reason)? = try failure("huge") else {
            Issue.record("huge not caught")
            return
        }
        #expect(reason.contains("exceeds limits.payload"))
        let runtime = FunctionRuntime(preparedPerModule: 0)
        let good = try bystander(runtime)
        #expect(throws: FunctionError.self) { try good.call(from: good.id, payload: [UInt8](repeating: 1, count: 2 << 20)) }
        #expect(good.state == .running)
    }

    @Test func replyPointerOutsideMemoryIsCaught() throws {
        let runtime = FunctionRuntime(preparedPerModule: 0)
        let bad = try runtime.start(try TestFunctions.code("hostile"), function: "hostile", router: RecordingRouter())
        #expect(throws: FunctionError.self) { _ = try bad.call(from: bad.id, payload: []) }
    }

    @Test func missingExportsAreBadCodeNamingThem() throws {
        let wasm = try wat2wasm(
            """
            (module (memory (export "memory") 1)
              (func (export "edgeless_mem_alloc") (param i32) (result i32) i32.const 0)
              (func (export "handle_init_asm") (param i32 i32 i32 i32)))
            """)
        let runtime = FunctionRuntime()
        do {
            _ = try runtime.start(FunctionCode(name: "partial.wasm", bytes: wasm), function: "partial", router: RecordingRouter())
            Issue.record("accepted")
        } catch {
            guard case let .badCode(function, problems) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(function == "partial.wasm")
            #expect(problems.contains("missing export \"handle_cast_asm\""))
            #expect(problems.contains("missing export \"edgeless_mem_free\""))
        }
        #expect(throws: FunctionError.self) {
            _ = try runtime.start(FunctionCode(name: "junk", bytes: text("not wasm")), function: "junk", router: RecordingRouter())
        }
    }

    @Test func callCyclesAndDepthAreRefused() throws {
        let router = LocalRouter()
        var limits = FunctionLimits()
        limits.callDepth = 4
        let runtime = FunctionRuntime(limits: limits, preparedPerModule: 0)
        let a = try runtime.start(try TestFunctions.code("messaging"), function: "a", router: router)
        router.register(a, name: "a", outputs: ["out": "a"])
        // "call" makes a call to its own output, which is itself: a cycle.
        try a.cast(from: a.id, payload: text("call"))
        #expect(router.logLines.contains { $0.message == "call error" })
        #expect(router.undelivered.contains { $0.reason.contains("call cycle") })
    }
}

/// Code in a signed bundle reaches the parser only through the verifying reader.
@Suite struct TrustedCodeTests {
    @Test func codeLoadsFromTheSignedTableAndOnlyIfIntact() throws {
        let built = try TestFunctions.code("responder")
        let app = try TemporaryApp(
            ["README": "x"],
            manifest: """
                [app]
                name = "fn"
                version = "1"
                [trusted]
                files = ["functions/"]
                [allowed]
                files = ["scratch/"]
                """)
        try app.write("functions/responder.wasm", bytes: built.bytes)
        try app.write("scratch/other.wasm", bytes: built.bytes)
        let (key, _) = try app.sign()
        let bundle = try SignedBundle.load(manifestPath: app.path("app.toml"), signer: key.publicKey)
        let shield = try Shield(bundle: bundle)
        let code = try FunctionCode.load(trusted: "functions/responder.wasm", from: shield)
        #expect(code.hash == Array(bundle.table.rootHash(of: bundle.table.lookup(normalised: "functions/responder.wasm")!)))
        let runtime = FunctionRuntime(preparedPerModule: 0)
        let instance = try runtime.start(code, function: "responder", router: RecordingRouter())
        #expect(try instance.call(from: instance.id, payload: Array("ping".utf8)) == .reply(Array("pong".utf8)))

        // Not a trusted file (allowed only, or unlisted): refused before parsing.
        #expect(throws: FunctionError.self) { try FunctionCode.load(trusted: "scratch/other.wasm", from: shield) }
        #expect(throws: FunctionError.self) { try FunctionCode.load(trusted: "functions/absent.wasm", from: shield) }
        // Tampered after signing: the verified read fails, nothing reaches the parser.
        var bytes = built.bytes
        bytes[bytes.count / 2] ^= 0x20
        try app.write("functions/responder.wasm", bytes: bytes)
        do {
            _ = try FunctionCode.load(trusted: "functions/responder.wasm", from: try Shield(bundle: bundle))
            Issue.record("tampered code loaded")
        } catch {
            #expect("\(error)".contains("does not match its signed hash"))
        }
    }
}

/// Issue 11 §4: one hostile input must not crash the node, pin its memory or forge its log.
@Suite struct ExhaustionTests {
    @Test func aCSourceAsCodeIsRefusedWithoutQuotingIt() throws {
        let source = Array("/* a C source */\nint main(void) { return 0; }\n".utf8)
        let runtime = FunctionRuntime(preparedPerModule: 0)
        do {
            _ = try runtime.start(FunctionCode(name: "functions/relay.c", bytes: source), function: "relay", router: RecordingRouter())
            Issue.record("accepted")
        } catch {
            #expect(error.description.contains("functions/relay.c"))
            #expect(error.description.contains("bad magic"))
            #expect(!error.description.contains("47"), "\(error)")
        }
        let badSection: [UInt8] = ModuleHeader.magic + ModuleHeader.version + [0x63, 0x05, 0x41, 0x42, 0x43, 0x44, 0x45]
        do {
            _ = try runtime.start(FunctionCode(name: "x.wasm", bytes: badSection), function: "x", router: RecordingRouter())
            Issue.record("accepted")
        } catch {
            #expect(error.description.contains("malformed WebAssembly module"))
            #expect(!error.description.contains("65") && !error.description.contains("["), "\(error)")
        }
    }

    @Test func logTextIsEscapedCutAndRateLimited() {
        #expect(GuestLog.message("x\n[forged] y\u{1B}[31m") == "x\\n[forged] y\\u{1b}[31m")
        #expect(GuestLog.message(String(repeating: "a", count: 10_000)).utf8.count < GuestLog.maxMessageBytes + 40)
        let log = GuestLog(function: "f", metrics: nil)
        let now: UInt64 = 1_000_000_000
        let admitted = (0..<10_000).filter { _ in log.admit(now: now).admitted }.count
        #expect(admitted == Int(GuestLog.burst))
        #expect(log.dropped == 10_000 - Int(GuestLog.burst))
        // A second later the bucket has refilled; the first line reports what was dropped.
        let resumed = log.admit(now: now + 1_000_000_000)
        #expect(resumed.admitted && resumed.droppedBefore == 10_000 - Int(GuestLog.burst))
    }

    @Test func pendingTimersAreCappedAndFreedOnStop() throws {
        var limits = FunctionLimits()
        limits.pendingTimers = 3
        let runtime = FunctionRuntime(limits: limits, preparedPerModule: 0)
        let router = RecordingRouter()
        let instance = try runtime.start(try TestFunctions.code("messaging"), function: "messaging", router: router)
        for _ in 0..<3 { try instance.cast(from: instance.id, payload: text("delayed")) }
        #expect(instance.pendingTimers.timers == 3)
        #expect(runtime.pendingTimers.timers == 3 && runtime.pendingTimers.bytes > 0)
        do {
            try instance.cast(from: instance.id, payload: text("delayed"))
            Issue.record("a fourth timer was accepted")
        } catch {
            #expect(error.description.contains("limits.timers = 3"), "\(error)")
        }
        // The failure cancelled them; the replacement starts with none.
        #expect(runtime.pendingTimers == PendingTimers())
        try instance.cast(from: instance.id, payload: text("delayed"))
        #expect(runtime.pendingTimers.timers == 1)
        try instance.stop()
        #expect(instance.pendingTimers == PendingTimers())
        #expect(runtime.pendingTimers == PendingTimers())
    }

    @Test func theNodeCapHoldsAcrossInstances() throws {
        var node = Manifest.Node()
        node.pendingTimers = 2
        let runtime = FunctionRuntime(node: node, preparedPerModule: 0)
        let a = try runtime.start(try TestFunctions.code("messaging"), function: "a", router: RecordingRouter())
        let b = try runtime.start(try TestFunctions.code("messaging"), function: "b", router: RecordingRouter())
        try a.cast(from: a.id, payload: text("delayed"))
        try a.cast(from: a.id, payload: text("delayed"))
        do {
            try b.cast(from: b.id, payload: text("delayed"))
            Issue.record("node cap passed")
        } catch {
            #expect(error.description.contains("node.timers = 2"), "\(error)")
        }
        try a.stop()
        #expect(runtime.pendingTimers == PendingTimers())
    }
}
