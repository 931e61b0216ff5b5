import Foundation

// The node's readers of hostile input, exactly as the node applies them, exposed for the
// libFuzzer targets (Sources/FuzzNodeInputs, docs/FUZZING.md): a fuzzer that reimplemented
// them would test its copy, not the node.

extension EdgelessHTTPResponse {
    /// A function's reply to an ingress request as the ingress reads it: strict EDGELESS JSON
    /// (bounded nesting), then the framing and hop-by-hop headers dropped and forged header
    /// lines refused. Throws the reason the ingress answers 502 with.
    public static func fromFunctionReply(_ bytes: [UInt8]) throws -> EdgelessHTTPResponse {
        var response = try EdgelessResponseReader.read(bytes).get()
        response.headers = try response.clientHeaders().get()
        return response
    }
}

extension Workflow {
    /// Parses workflow JSON and runs the node's structural checks on it (names, mappings,
    /// resource configuration, call cycles), everything `Node.start` checks before it loads
    /// code. `makesCalls` stands in for the compiled code's answer to "does this function make
    /// synchronous calls".
    public static func validate(_ json: Data, source: String, makesCalls: (String) -> Bool) throws(WorkflowError) -> Workflow {
        let workflow = try parse(json, source: source)
        let problems = WorkflowCheck.structure(workflow) + WorkflowCheck.callCycles(workflow, makesCalls: makesCalls)
        guard problems.isEmpty else { throw .invalid(source, problems) }
        return workflow
    }
}
