import Foundation
import HostBridge
import HostProtocol
import Manifest
import Node
import NodeInputFuzzing
import Testing

/// Inputs kept from fuzzing and the seeds it started from (docs/FUZZING.md): every one must be
/// read or refused by its reader, never crash it, so a crash found once stays fixed.
@Suite struct NodeInputCorpusTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path

    static func inputs(_ target: FuzzTarget) throws -> [(name: String, bytes: [UInt8])] {
        let directory = folder + "/" + target.corpusFolder
        return try FileManager.default.contentsOfDirectory(atPath: directory).sorted().map { name in
            (name, [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))))
        }
    }

    @Test(arguments: FuzzTarget.allCases)
    func corpusInputsNeverCrashTheirReader(_ target: FuzzTarget) throws {
        let inputs = try Self.inputs(target)
        #expect(inputs.count >= 5, "the \(target.rawValue) corpus lost its seeds")
        for input in inputs { input.bytes.withUnsafeBytes(target.exercise) }
    }

    /// The seeds are real inputs: the examples' workflows and manifests must still be accepted,
    /// or the fuzzer would start from inputs the readers refuse at the first byte.
    @Test func exampleWorkflowsAndManifestsAreAccepted() throws {
        for input in try Self.inputs(.workflow) where !["call-cycle.json", "bad-structure.json", "deep-nesting.json"].contains(input.name) {
            #expect(throws: Never.self, "\(input.name)") {
                try Workflow.validate(Data(input.bytes), source: input.name, makesCalls: { _ in false })
            }
        }
        for input in try Self.inputs(.manifest) where !input.name.hasPrefix("deep-") && !input.name.hasPrefix("bad-") {
            #expect(throws: Never.self, "\(input.name)") { try Manifest(bytes: input.bytes, path: "/fuzz/\(input.name)") }
        }
        // Crashes the fuzzer found in the TOML parser: refused with a reason, never a trap.
        for input in try Self.inputs(.manifest) where input.name.hasPrefix("bad-") {
            #expect(throws: ManifestError.self, "\(input.name)") { try Manifest(bytes: input.bytes, path: "/fuzz/\(input.name)") }
        }
    }

    @Test func functionReplySeedsAreReadAsTheIngressReadsThem() throws {
        let replies = Dictionary(uniqueKeysWithValues: try Self.inputs(.reply))
        let hello = try EdgelessHTTPResponse.fromFunctionReply(try #require(replies["hello-world"]))
        #expect(hello == EdgelessHTTPResponse(status: 200, body: Array("hello world".utf8), headers: ["content-type": "text/plain"]))
        let framed = try EdgelessHTTPResponse.fromFunctionReply(try #require(replies["framing-headers"]))
        #expect(framed.headers == ["x-ok": "1"], "framing headers must be dropped, got \(framed.headers)")
        #expect { try EdgelessHTTPResponse.fromFunctionReply(try #require(replies["forged-header-line"])) } throws: { error in
            "\(error)".contains("x-forged") && "\(error)".contains("CR, LF")
        }
    }

    /// Regression: a reply nested 1,000,000 deep crashed the node (recursive reader, stack
    /// overflow); it must be refused with the bound named.
    @Test func millionDeepReplyIsRefusedNotACrash() {
        for opener in ["[", "{\"a\":"] {
            let reply = Array(("{\"status\":200,\"x\":" + String(repeating: opener, count: 1_000_000)).utf8)
            #expect { try EdgelessHTTPResponse.fromFunctionReply(reply) } throws: { error in
                "\(error)".contains("nested deeper than")
            }
        }
    }

    @Test func workflowSeedsWithProblemsAreRefusedWithTheirNames() throws {
        let workflows = Dictionary(uniqueKeysWithValues: try Self.inputs(.workflow))
        #expect { try Workflow.validate(Data(try #require(workflows["call-cycle.json"])), source: "c", makesCalls: { _ in true }) } throws: { error in
            "\(error)".contains("call cycle a → b → c → a")
        }
        #expect { try Workflow.validate(Data(try #require(workflows["bad-structure.json"])), source: "b", makesCalls: { _ in false }) } throws: { error in
            "\(error)".contains("name \"a\" is used twice") && "\(error)".contains("\"nowhere\"")
        }
    }

    /// The frame seeds are what an agent sends: they decode to frames whose payloads are the
    /// reports the trusted client checks.
    @Test func frameSeedsDecodeToAgentAnswers() throws {
        let frames = Dictionary(uniqueKeysWithValues: try Self.inputs(.frame))
        var decoder = FrameDecoder()
        decoder.feed(try #require(frames["health-answer"]).dropFirst())
        guard case let .frame(frame) = decoder.next() else {
            Issue.record("health-answer is not a frame")
            return
        }
        #expect(frame.kind == .healthAnswer)
        let report = try JSONDecoder().decode(HealthReport.self, from: Data(frame.payload))
        var baselines = CounterBaselines()
        #expect(Plausibility.check(report, baselines: &baselines).memoryTotalBytes.value == 8_323_002_368)
        var oversized = FrameDecoder()
        oversized.feed(try #require(frames["oversized"]).dropFirst())
        #expect(oversized.next() == .error(.oversized(length: 0xFFFF_FFFF, cap: Frame.defaultMaxPayload)))
    }
}
