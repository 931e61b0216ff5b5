import Foundation
import TestSupport
import Testing

/// The trusted runtime must not carry the untrusted agent's /proc readers: the module graph
/// keeps them apart (HostAgent is linked only into the agent), and this checks the result in
/// the built executables, by the mangled module prefix every Swift symbol of a module carries.
@Suite struct TrustLineTests {
    private func contains(_ product: String, _ text: String) throws -> Bool {
        let binary = try Data(contentsOf: URL(fileURLWithPath: builtProduct(product)), options: .alwaysMapped)
        return binary.range(of: Data(text.utf8)) != nil
    }

    @Test func theRuntimeLinksTheWireProtocolButNotTheAgent() throws {
        #expect(try contains("secure-executor-host-agent", "9HostAgent"), "the check finds the agent module where it is")
        #expect(try contains("secure-executor", "12HostProtocol"))
        #expect(try !contains("secure-executor", "9HostAgent"), "the trusted runtime links the agent's /proc readers")
    }
}
