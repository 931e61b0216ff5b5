import Enclave
import FunctionRuntime
import HTTPServing
import HostProtocol
import Manifest
import Node
import NodeAPI
import SealedState
import Shield
import Support
import Testing

@testable import TrustedFiles

/// Every module's error codes together: programs match on them, so they must be unique,
/// well-formed and keep their meaning.
@Suite struct ErrorCodeTests {
    static func codes<E: CodedError>(_ type: E.Type) -> [String] { E.Code.allCases.map(\.rawValue) }

    static let all: [String] =
        codes(ManifestError.self) + codes(PathError.self) + codes(HashFailure.self) + codes(KeyError.self) + codes(SignError.self)
        + codes(TableWriterError.self) + codes(TrustedSignersError.self) + codes(SignerTrustError.self) + codes(BundleError.self)
        + codes(TableError.self) + codes(ShieldError.self) + codes(FunctionError.self) + codes(NodeError.self)
        + codes(ControlFileError.self) + codes(EnclaveError.self) + codes(WritableError.self) + codes(HTTPServerError.self)
        + codes(HostTransportError.self) + codes(FrameError.self) + codes(StateError.self)

    @Test func codesAreUniqueAndDotted() {
        let duplicates = Dictionary(grouping: Self.all, by: { $0 }).filter { $0.value.count > 1 }.keys
        #expect(duplicates.isEmpty, "codes used twice: \(duplicates.sorted())")
        // NodeError's two single-word codes predate the scheme and are documented (docs/NODE.md).
        let malformed = Self.all.filter { $0.wholeMatch(of: /[a-z][a-z-]*(\.[a-z][a-z-]*)+/) == nil && $0 != "resource" && $0 != "function" }
        #expect(malformed.isEmpty, "\(malformed)")
    }

    @Test func codesNameTheCaseAndCausesFollowTheChain() {
        #expect(ShieldError.modified(path: "a", chunk: 1, chunkCount: 2).codeName == "shield.modified")
        #expect(FunctionError.outOfFuel(function: "f", instance: "i", handler: "h", fuel: 1).codeName == "function.out-of-fuel")
        let table = TableError(source: "app.table", problem: .badMagic)
        let bundle = BundleError.table(table)
        let trust = SignerTrustError.bundle(bundle)
        #expect(trust.codeName == "signer-trust.bundle")
        #expect(trust.causes == ["bundle.table: \(bundle)", "table.bad-magic: \(table)"])
        let frame = HostTransportError.frame(.oversized(length: 9, cap: 4))
        #expect(frame.codeName == "host.frame" && frame.kind == "frame.oversized")
        #expect(NodeError.workflow(.malformed("w", "x")).codeName == "workflow.malformed")
    }
}

extension ErrorCodeTests {
    @Test func aNodeErrorKeepsTheErrorItWrapsAsItsCause() {
        let shield = ShieldError.notTrusted(path: "logs/x.log", allowed: false)
        let failed = NodeError.resourceFailed("log", .init(shield), hint: "; list it under [allowed] files")
        #expect(failed.codeName == "resource")
        #expect(failed.causes == ["shield.not-trusted: \(shield)"])
        #expect(failed.description == "resource log: \(shield); list it under [allowed] files")
        #expect((failed.cause as? ShieldError) == shield)
    }
}
