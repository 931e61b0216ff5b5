import Foundation
import HostBridge
import HostProtocol
import Manifest
import Node

/// One reader of hostile input and what must hold for every input it is given. Each target
/// either accepts an input (and then its result must be sound) or refuses it with an error;
/// a crash, a hang, a sanitizer report or a failed precondition is a bug in that reader
/// (docs/FUZZING.md). The libFuzzer executable and the corpus replay test both run these.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A function's reply to an ingress request (EDGELESS HTTP response JSON).
    case reply
    /// Workflow JSON, parsed and structurally checked.
    case workflow
    /// A manifest's TOML.
    case manifest
    /// A byte stream from the host agent: frames and their JSON payloads.
    case frame

    /// Where `swift test` finds each target's kept inputs, relative to the test folder.
    public var corpusFolder: String { "Corpus/\(rawValue)" }

    public func exercise(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .reply: Self.reply(Array(bytes))
        case .workflow: Self.workflow(Data(bytes))
        case .manifest: Self.manifest(Array(bytes))
        case .frame: Self.frame(Array(bytes))
        }
    }

    static func reply(_ bytes: [UInt8]) {
        guard let response = try? EdgelessHTTPResponse.fromFunctionReply(bytes) else { return }
        for (name, value) in response.headers {
            precondition(
                !["content-length", "transfer-encoding", "connection"].contains(name.lowercased()),
                "a framing header reached the client")
            precondition(!value.utf8.contains { $0 == 0x0D || $0 == 0x0A }, "a header value can forge a header line")
        }
        precondition(response.body.map { $0.count <= bytes.count } ?? true, "a body longer than the reply")
    }

    /// Every function is taken to make calls, so the call-cycle search sees every mapping.
    static func workflow(_ json: Data) {
        guard let workflow = try? Workflow.validate(json, source: "fuzz.json", makesCalls: { _ in true }) else { return }
        let names = Set(workflow.functions.map(\.name) + workflow.resources.map(\.name))
        precondition(names.count == workflow.functions.count + workflow.resources.count, "a duplicate name passed the checks")
        for function in workflow.functions {
            precondition(function.outputMapping.values.allSatisfy(names.contains), "a mapping to nowhere passed the checks")
        }
    }

    static func manifest(_ bytes: [UInt8]) {
        guard let manifest = try? Manifest(bytes: bytes, path: "/fuzz/app/secure-executor.toml") else { return }
        precondition(!manifest.trusted.files.isEmpty, "a manifest without trusted files was accepted")
        precondition(manifest.root.hasPrefix("/"), "the application root is not absolute")
        let probe = try? RelativePath("functions/f.wasm", origin: "fuzz")
        for pattern in manifest.trusted.files + manifest.trusted.exclude + manifest.allowed {
            if let probe { _ = pattern.covers(probe) }
            _ = pattern.fixedPrefix
        }
        _ = manifest.policy.httpIngress.allows(host: "example.com")
        _ = manifest.policy.httpIngress.allows(pathPrefix: "/api")
    }

    /// The first byte picks how many bytes arrive at a time, as a socket delivers them.
    static func frame(_ input: [UInt8]) {
        guard let first = input.first else { return }
        let step = Int(first % 32) + 1
        let stream = input.dropFirst()
        var decoder = FrameDecoder(maxPayload: 4096)
        var baselines = CounterBaselines()
        var offset = stream.startIndex
        while offset < stream.endIndex {
            let end = min(offset + step, stream.endIndex)
            decoder.feed(stream[offset..<end])
            offset = end
            while case let .frame(frame) = decoder.next() {
                precondition(frame.payload.count <= decoder.maxPayload, "a frame over the cap was accepted")
                answer(frame, &baselines)
                guard let encoded = try? frame.encoded(maxPayload: decoder.maxPayload) else {
                    preconditionFailure("a decoded frame cannot be encoded again")
                }
                var again = FrameDecoder(maxPayload: decoder.maxPayload)
                again.feed(encoded)
                precondition(again.next() == .frame(frame), "a frame does not survive encoding")
            }
            if case .error = decoder.next() { break }
        }
        _ = decoder.finish()
    }

    /// What the trusted client and the agent do with a payload: decode it by kind and, for
    /// answers, check it is plausible.
    private static func answer(_ frame: Frame, _ baselines: inout CounterBaselines) {
        let payload = Data(frame.payload)
        let decoder = JSONDecoder()
        switch frame.kind {
        case .capabilitiesRequest: _ = try? decoder.decode(CapabilitiesRequest.self, from: payload)
        case .healthRequest: _ = try? decoder.decode(HealthRequest.self, from: payload)
        case .capabilitiesAnswer:
            if let report = try? decoder.decode(CapabilitiesReport.self, from: payload) { _ = Plausibility.check(report) }
        case .healthAnswer:
            if let report = try? decoder.decode(HealthReport.self, from: payload) { _ = Plausibility.check(report, baselines: &baselines) }
        }
    }
}
