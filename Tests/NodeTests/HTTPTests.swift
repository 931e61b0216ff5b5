import Examples
import Foundation
import HTTPServing
import Logging
import Manifest
import NIOHTTP1
import TestSupport
import Testing

@testable import Node

private let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// An http-ingress resource in front of the http_echo test function.
private func ingressWorkflow(host: String = "demo.test", methods: String = "POST", path: String? = nil) -> String {
    """
    { "functions": [ \(function("echo", code: "http_echo")) ],
      "resources": [ { "name": "ingress", "class_type": "http-ingress", "output_mapping": { "new_request": "echo" },
                       "configurations": { "host": "\(host)", "methods": "\(methods)"\(path.map { ", \"path\": \"\($0)\"" } ?? "") } } ],
      "annotations": {} }
    """
}

private func send(_ port: Int, _ method: HTTPMethod = .POST, host: String = "demo.test", path: String = "/", body: String = "") async throws -> HTTPAnswer {
    try await HTTPCall.send(method, "http://127.0.0.1:\(port)\(path)", host: host, body: Array(body.utf8))
}

/// Whether something listens on 127.0.0.1:`port` (a fresh TCP connect, no HTTP client pool).
private func acceptsConnections(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    let connected =
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    guard connected else { return false }
    // With nobody listening, the kernel can pick the destination port as the source port and
    // connect the socket to itself (TCP simultaneous open): that is not a listener.
    var local = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: local.sin_port)) != port
}

/// A policy under which the tests' workflows may claim any route.
private let anyRoute = """
    [policy.http-ingress]
    hosts = ["*"]
    """

@Suite struct IngressTests {
    @Test func aRequestBecomesACallInEdgelessShapeAndTheReplyBecomesTheResponse() async throws {
        let (app, node) = try signedApp(workflows: ["echo": ingressWorkflow()], policy: anyRoute)
        defer { withExtendedLifetime(app) {} }
        let port = try await node.listenForIngress(port: 0)
        _ = try node.start(workflowAt: "workflows/echo.json", id: "echo")
        let answer = try await send(port, host: "Demo.Test:\(port)", path: "/hello?x=1", body: "42")
        await node.shutdown()

        #expect(answer.status == 200)
        #expect(answer.headers["x-echo"] == "1")
        let request = try JSONDecoder().decode(EdgelessHTTPRequest.self, from: Data(answer.body))
        #expect(request.method == "Post")
        #expect(request.protocol == "HTTP")
        #expect(request.path == "/hello?x=1")
        #expect(request.host == "Demo.Test:\(port)")
        #expect(request.body == Array("42".utf8))
    }

    @Test func badRepliesAndUnclaimedRequestsGetStatusesThatSayWhy() async throws {
        let (app, node) = try signedApp(workflows: ["echo": ingressWorkflow()], policy: anyRoute)
        defer { withExtendedLifetime(app) {} }
        let port = try await node.listenForIngress(port: 0)
        _ = try node.start(workflowAt: "workflows/echo.json", id: "echo")

        let garbage = try await send(port, path: "/garbage")
        #expect(garbage.status == 502)
        #expect(garbage.text.contains("replied with something that is not an HTTP response: not JSON"))
        #expect(try await send(port, path: "/silent").status == 204)
        let trap = try await send(port, path: "/trap")
        #expect(trap.status == 502)
        #expect(trap.text.contains("the function behind ingress failed"))
        let otherHost = try await send(port, host: "other.test")
        #expect(otherHost.status == 404)
        #expect(otherHost.text.contains("no workflow on this node serves POST other.test/"))
        #expect(try await send(port, .GET).status == 404)
        let huge = try await send(port, body: String(repeating: "x", count: 300_000))
        #expect(huge.status == 413)
        #expect(huge.text.contains("payload limit"))
        // The function and the listener are unharmed by all of the above.
        #expect(try await send(port, body: "still here").status == 200)
        await node.shutdown()
    }

    @Test func stoppingAWorkflowFreesItsRouteForAnother() async throws {
        let (app, node) = try signedApp(workflows: ["echo": ingressWorkflow()], policy: anyRoute)
        defer { withExtendedLifetime(app) {} }
        let port = try await node.listenForIngress(port: 0)
        _ = try node.start(workflowAt: "workflows/echo.json", id: "first")
        #expect(refusal(node, "workflows/echo.json").contains("host demo.test, methods POST, path any is already served by resource ingress of workflow first"))
        #expect(try await send(port).status == 200)

        try node.stop(workflow: "first")
        #expect(try await send(port).status == 404)
        _ = try node.start(workflowAt: "workflows/echo.json", id: "second")
        #expect(try await send(port).status == 200)
        #expect(acceptsConnections(port))
        await node.shutdown()
        // The listener is closed with the node: a new connection to its port is refused. Polled
        // for a moment, with a note of who answers if something still does.
        let deadline = ContinuousClock.now + .seconds(5)
        while acceptsConnections(port), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let answer = acceptsConnections(port) ? ((try? await send(port))?.text ?? "no HTTP answer") : ""
        #expect(
            !acceptsConnections(port), "port \(port) still accepts after shutdown; ingress port \(String(describing: node.ingress.port)); it answers: \(answer)"
        )
    }

    @Test func routesAreChosenByPathPrefixAndHost() async throws {
        let (app, node) = try signedApp(
            workflows: [
                "api": ingressWorkflow(host: "*", methods: "GET,POST", path: "/api/"),
                "any": ingressWorkflow(host: "*", methods: "GET"),
            ], policy: anyRoute)
        defer { withExtendedLifetime(app) {} }
        let port = try await node.listenForIngress(port: 0)
        _ = try node.start(workflowAt: "workflows/any.json", id: "any")
        _ = try node.start(workflowAt: "workflows/api.json", id: "api")
        let api = try await send(port, .POST, host: "x.test", path: "/api/v1")
        #expect(api.status == 200)
        #expect(try await send(port, .POST, host: "x.test", path: "/other").status == 404)
        #expect(try await send(port, .GET, host: "y.test", path: "/other").status == 200)
        try node.stop(workflow: "api")
        #expect(try await send(port, .POST, host: "x.test", path: "/api/v1").status == 404)
        await node.shutdown()
    }

    @Test func anIngressNeedsAListenerAndAValidConfiguration() throws {
        let (app, node) = try signedApp(workflows: ["echo": ingressWorkflow()], policy: anyRoute)
        defer { withExtendedLifetime(app) {} }
        #expect(refusal(node, "workflows/echo.json") == "resource ingress: this node has no HTTP ingress listener; start it with --ingress-port")
        #expect(node.workflows.isEmpty)
    }

    @Test func ingressConfigurationMistakesNameTheResource() async throws {
        let (app, node) = try signedApp(
            workflows: [
                "fetch": ingressWorkflow(methods: "FETCH"), "port": ingressWorkflow(host: "demo.test:80"),
                "path": ingressWorkflow(path: "api"),
            ], policy: anyRoute)
        defer { withExtendedLifetime(app) {} }
        _ = try await node.listenForIngress(port: 0)
        #expect(refusal(node, "workflows/fetch.json") == "resource ingress: methods \"FETCH\" must list some of GET, HEAD, POST, PUT, DELETE, PATCH")
        #expect(refusal(node, "workflows/port.json") == "resource ingress: host \"demo.test:80\" must be a host name without port or path, or * for any")
        #expect(refusal(node, "workflows/path.json") == "resource ingress: path \"api\" must start with /")
        #expect(node.workflows.isEmpty)
        await node.shutdown()
    }
}

@Suite struct EdgelessHTTPTests {
    @Test func theRequestEncoderWritesWhatJSONDecoderReadsBack() throws {
        let tricky = EdgelessHTTPRequest(
            method: "Put", protocol: "HTTP", host: "h\u{e9}.test:80", path: "/a\"b\\c\u{1}?q=\u{2603}",
            body: [0, 9, 10, 99, 100, 255], headers: ["x-a": "1\t2", "b": "\"quoted\""])
        for request in [tricky, EdgelessHTTPRequest(method: "Get", host: "x", path: "/")] {
            #expect(try JSONDecoder().decode(EdgelessHTTPRequest.self, from: Data(request.json)) == request)
        }
        #expect(
            String(decoding: EdgelessHTTPRequest(method: "Get", host: "x", path: "/p").json, as: UTF8.self)
                == #"{"method":"Get","protocol":"HTTP","host":"x","path":"/p","body":null,"headers":{}}"#)
    }
}

@Suite struct EgressTests {
    /// An egress resource under a policy that allows plain HTTP to `hosts` (any port).
    private func makeEgress(
        _ name: String, _ configuration: [String: String] = [:], hosts: [String] = ["127.0.0.1:*"],
        maxResponseBytes: Int = 1 << 20
    ) throws -> HTTPEgressResource {
        try HTTPEgressResource(
            name: name, configuration: configuration,
            policy: Policy.HTTPEgress(hosts: hosts.compactMap(NetworkRule.init), schemes: ["http", "https"]),
            origin: "app.toml:3", maxResponseBytes: maxResponseBytes)
    }

    private func request(_ host: String, path: String = "/in", method: String = "Post", body: String = "hello") -> [UInt8] {
        EdgelessJSON.encode(EdgelessHTTPRequest(method: method, host: host, path: path, body: Array(body.utf8), headers: ["x-from": "function"]))!
    }

    @Test func aCallPerformsTheRequestAndRepliesWithTheResponse() async throws {
        let peer = try await PeerServer.start(logger: quiet)
        let egress = try makeEgress("egress", ["allowed-hosts": "127.0.0.1:*"])
        let reply = await Task.detached { egress.call(payload: request(peer.address)) }.value
        await peer.stop()

        guard case let .reply(bytes) = reply else {
            Issue.record("expected a reply, got \(reply)")
            return
        }
        let response = try JSONDecoder().decode(EdgelessHTTPResponse.self, from: Data(bytes))
        #expect(response.status == 200)
        #expect(response.body == Array("ok hello".utf8))
        #expect(response.headers["content-type"] == "text/plain")
        #expect(peer.requests.map(\.method) == ["POST"])
        #expect(peer.requests.first?.headers["x-from"] == "function")
    }

    @Test func failuresComeBackAsCallErrorsNamingTheURL() async throws {
        let slow = try await HTTPServer.start(logger: quiet) { _ in
            try? await Task.sleep(for: .seconds(2))
            return .text(200, "late")
        }
        let closed = try await HTTPServer.start(logger: quiet) { _ in .text(200, "") }
        let closedAddress = "127.0.0.1:\(closed.port)"
        await closed.stop()
        let egress = try makeEgress("egress", ["timeout-ms": "200"])
        let limited = try makeEgress("limited", ["allowed-hosts": "example.org"], hosts: ["127.0.0.1:*", "example.org"])
        let replies = await Task.detached {
            [
                egress.call(payload: request("127.0.0.1:\(slow.port)")),
                egress.call(payload: request(closedAddress)),
                limited.call(payload: request("127.0.0.1:9")),
                egress.call(payload: Array("not json".utf8)),
                egress.call(payload: request("127.0.0.1:9", method: "Fetch")),
            ]
        }.value
        await slow.stop()

        #expect(replies[0] == .error("http-egress egress: POST http://127.0.0.1:\(slow.port)/in timed out after 200 ms"))
        guard case let .error(refused) = replies[1] else {
            Issue.record("expected an error, got \(replies[1])")
            return
        }
        #expect(refused.hasPrefix("http-egress egress: POST http://\(closedAddress)/in failed:"))
        #expect(replies[2] == .error("http-egress limited: http://127.0.0.1:9/in is refused: 127.0.0.1:9 is not in allowed-hosts (example.org)"))
        #expect(replies[3] == .error("http-egress egress: the call is not an EDGELESS HTTP request: not JSON (8 bytes starting \"not json\")"))
        #expect(replies[4] == .error("http-egress egress: method \"Fetch\" is not one of Get, Head, Post, Put, Delete, Patch"))
    }

    @Test func userinfoCannotSmuggleAnotherHostPastThePolicy() async throws {
        let peer = try await PeerServer.start(logger: quiet)
        let egress = try makeEgress("egress", hosts: ["allowed.example:*"])
        let replies = await Task.detached {
            [
                egress.call(payload: request("allowed.example:1@\(peer.address)")),
                egress.call(payload: request("allowed.example@\(peer.address)")),
                egress.call(payload: request(peer.address)),
                egress.call(payload: request("allowed.example%2F@127.0.0.1")),
                egress.call(payload: request("allowed.example:99999999999999999999")),
            ]
        }.value
        await peer.stop()
        #expect(
            replies[0]
                == .error(
                    "http-egress egress: http://allowed.example:1@\(peer.address)/in is refused: it has userinfo (USER@ before the host), which would send the request to 127.0.0.1, not to the host it seems to name"
                ))
        #expect(
            replies[1]
                == .error(
                    "http-egress egress: http://allowed.example@\(peer.address)/in is refused: it has userinfo (USER@ before the host), which would send the request to 127.0.0.1, not to the host it seems to name"
                ))
        #expect(
            replies[2]
                == .error(
                    "http-egress egress: http://\(peer.address)/in is refused: \(peer.address) is not in policy.http-egress.hosts (app.toml:3): allowed.example:*"
                ))
        guard case .error = replies[3] else {
            Issue.record("a percent-encoded host was accepted: \(replies[3])")
            return
        }
        #expect(
            replies[4]
                == .error(
                    "http-egress egress: url \"http://allowed.example:99999999999999999999/in\": port \"99999999999999999999\" is not a number from 1 to 65535")
        )
        #expect(peer.requests.isEmpty, "a refused request reached the peer")
    }

    @Test func redirectsAreReturnedNotFollowed() async throws {
        let peer = try await PeerServer.start(logger: quiet)
        let redirecting = try await HTTPServer.start(logger: quiet) { _ in
            HTTPAnswer(status: 302, headers: ["location": "http://\(peer.address)/elsewhere"])
        }
        let egress = try makeEgress("egress")
        let reply = await Task.detached { egress.call(payload: request("127.0.0.1:\(redirecting.port)")) }.value
        await redirecting.stop()
        await peer.stop()
        guard case let .reply(bytes) = reply else {
            Issue.record("expected the 302 as the reply, got \(reply)")
            return
        }
        let response = try JSONDecoder().decode(EdgelessHTTPResponse.self, from: Data(bytes))
        #expect(response.status == 302)
        #expect(response.headers["location"] == "http://\(peer.address)/elsewhere")
        #expect(peer.requests.isEmpty, "the redirect was followed")
    }

    @Test func aResponseOverThePayloadLimitIsACallError() async throws {
        let peer = try await PeerServer.start(logger: quiet)
        let egress = try makeEgress("egress", maxResponseBytes: 10)
        let reply = await Task.detached { egress.call(payload: request(peer.address, body: "more than ten bytes")) }.value
        await peer.stop()
        #expect(reply == .error("http-egress egress: POST http://\(peer.address)/in answered with more than 10 bytes"))
    }

    @Test func aCastMakesNoRequestAndSaysSo() async throws {
        let peer = try await PeerServer.start(logger: quiet)
        let egress = try makeEgress("egress")
        #expect(throws: NodeError.resource("egress", "http-egress answers calls only; a cast makes no request (EDGELESS drops it too)")) {
            try egress.cast(payload: request(peer.address))
        }
        await peer.stop()
        #expect(peer.requests.isEmpty)
    }

    @Test func aBadTimeoutIsRefusedAtStart() {
        #expect(throws: NodeError.resource("egress", "timeout-ms \"soon\" must be a whole number of milliseconds from 1 to 600000")) {
            try makeEgress("egress", ["timeout-ms": "soon"], maxResponseBytes: 1)
        }
    }
}

extension EdgelessHTTPTests {
    @Test func theResponseReaderAgreesWithJSONDecoder() throws {
        let accepted = [
            #"{"status":200,"body":[104,105],"headers":{"content-type":"text/plain"}}"#,
            #" { "headers" : { } , "body" : null , "status" : 404 , "extra": [1, {"a": [true, false, null, -1.5e3]}, "x"] } "#,
            #"{"status":201,"headers":{"a":"\"q\" \\ \/ \n \u00e9 \ud83d\ude00"},"body":[]}"#,
            #"{"status":200,"headers":{}}"#,
        ]
        for text in accepted {
            let expected = try JSONDecoder().decode(EdgelessHTTPResponse.self, from: Data(text.utf8))
            #expect(try EdgelessResponseReader.read(Array(text.utf8)).get() == expected, "\(text)")
        }
        let refused: [(String, String)] = [
            ("not json", "not JSON (8 bytes starting \"not json\")"),
            (#"{"body":[1]}"#, "field \"status\" is missing"),
            (#"{"status":"200"}"#, "field \"status\" has the wrong type"),
            (#"{"status":200,"body":[1,256]}"#, "field \"body.1\" is not a byte (0…255)"),
            (#"{"status":200,"body":"hi"}"#, "field \"body\" has the wrong type"),
            (#"{"status":200,"headers":{"a":1}}"#, "field \"headers.a\" has the wrong type"),
            (#"{"status":200"#, "not valid JSON at byte 13: unterminated object"),
            (#"{"status":200} x"#, "not valid JSON at byte 15: text after the JSON object"),
            ("{\"status\":200,\"headers\":{\"a\":\"\u{1}\"}}", "not valid JSON at byte 30: control character in a string"),
        ]
        for (text, reason) in refused {
            #expect(throws: Error.self, "\(text)") { try JSONDecoder().decode(EdgelessHTTPResponse.self, from: Data(text.utf8)) }
            guard case let .failure(problem) = EdgelessResponseReader.read(Array(text.utf8)) else {
                Issue.record("accepted \(text)")
                continue
            }
            #expect(problem.description == reason)
        }
    }
}

/// Issue 11 §4: hostile function replies.
@Suite struct HostileReplyTests {
    @Test func deepNestingIsRefusedNotACrash() throws {
        let deepArrays = Array("{\"status\":200,\"x\":".utf8) + [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)
        guard case let .failure(problem) = EdgelessResponseReader.read(deepArrays) else {
            Issue.record("accepted")
            return
        }
        #expect(problem.description.contains("nested deeper than 64"))
        let deepObjects = Array("{\"status\":200,\"x\":".utf8) + Array(String(repeating: "{\"a\":", count: 100_000).utf8)
        guard case .failure = EdgelessResponseReader.read(deepObjects) else {
            Issue.record("accepted")
            return
        }
        let fine = Array("{\"status\":200,\"x\":[[[{\"a\":[1]}]]],\"body\":null}".utf8)
        #expect(try EdgelessResponseReader.read(fine).get().status == 200)
    }

    @Test func aReplyThatIsNotJSONCannotForgeALogLine() {
        let forged = Array("oops\n2026-12-03T00:00:00+0000 info secure-executor: [Node] workflow started\u{1b}[2J".utf8)
        guard case let .failure(problem) = EdgelessResponseReader.read(forged) else {
            Issue.record("accepted")
            return
        }
        #expect(!problem.description.contains("\n") && !problem.description.contains("\u{1b}"))
        #expect(problem.description.hasPrefix("not JSON (\(forged.count) bytes starting \"oops\\n2026-12-03"))
    }

    @Test func framingHeadersAreDroppedAndForgedHeadersRefused() throws {
        let reply = EdgelessHTTPResponse(
            status: 200, headers: ["Content-Length": "2", "connection": "keep-alive", "transfer-encoding": "chunked", "x-kept": "1"])
        #expect(try reply.clientHeaders().get() == ["x-kept": "1"])
        guard case let .failure(problem) = EdgelessHTTPResponse(status: 200, headers: ["x-a": "1\r\nset-cookie: x"]).clientHeaders() else {
            Issue.record("CR LF accepted")
            return
        }
        #expect(problem.description.contains("CR, LF or NUL"))
    }
}

/// The ingress keys EDGELESS workflows use beyond host and methods.
@Suite struct EdgelessIngressKeysTests {
    static func workflow(_ configurations: String) -> String {
        """
        { "functions": [],
          "resources": [
            { "name": "ingress", "class_type": "http-ingress", "output_mapping": { "new_request": "log" }, "configurations": { \(configurations) } },
            { "name": "log", "class_type": "file-log", "configurations": { "filename": "logs/ingress.log" } } ] }
        """
    }

    @Test func asyncCastsTheBodyAndAnswersAtOnceOnlyForItsWorkflowID() async throws {
        let (app, node) = try signedApp(
            workflows: ["async": Self.workflow(#""method": "POST", "wf_id": "true", "async": "True", "encode_base64": "true""#)], policy: anyRoute)
        let port = try await node.listenForIngress(port: 0)
        let workflow = try node.start(workflowAt: "workflows/async.json", id: "w-async")
        let taken = try await send(port, host: "any.host", path: "/x?a=1&wf_id=w-async", body: "hi")
        let unbound = try await send(port, host: "any.host", path: "/x", body: "no")
        let other = try await send(port, host: "any.host", path: "/x?wf_id=w-other", body: "no")
        let wrongMethod = try await send(port, .PUT, host: "any.host", path: "/x?wf_id=w-async", body: "no")
        workflow.dataplane.drain()
        try node.stop(workflow: "w-async")
        await node.shutdown()
        #expect(taken.status == 200 && taken.body == Array("OK".utf8))
        #expect(unbound.status == 404 && other.status == 404 && wrongMethod.status == 404)
        #expect(String(decoding: try app.read("logs/ingress.log"), as: UTF8.self) == "aGk=\n", "the body, base64-encoded, and nothing else")
    }

    @Test func withoutAHostAnyHostIsClaimedIfThePolicyAllowsIt() async throws {
        let (app, node) = try signedApp(
            workflows: ["open": Self.workflow(#""methods": "POST", "async": "true""#)],
            policy: "[policy.http-ingress]\nhosts = [\"demo.test\"]\n")
        defer { withExtendedLifetime(app) {} }
        _ = try await node.listenForIngress(port: 0)
        #expect {
            try node.start(workflowAt: "workflows/open.json")
        } throws: { error in
            "\(error)".contains("host (none given: any host, as in EDGELESS) is not among policy.http-ingress.hosts")
        }
        await node.shutdown()
    }

    @Test func unclearSwitchesAndDisagreeingMethodKeysAreRefusedByName() async throws {
        #expect {
            try HTTPIngressResource.switches(["async": "yes"], name: "ingress")
        } throws: { error in
            "\(error)" == "resource ingress: async \"yes\" must be true or false"
        }
        let (app, node) = try signedApp(workflows: ["both": Self.workflow(#""method": "GET", "methods": "POST""#)], policy: anyRoute)
        defer { withExtendedLifetime(app) {} }
        _ = try await node.listenForIngress(port: 0)
        #expect {
            try node.start(workflowAt: "workflows/both.json")
        } throws: { error in
            "\(error)".contains("method and methods are two spellings of one key and disagree")
        }
        await node.shutdown()
    }
}

@Suite struct PostingResourceTests {
    private let localPolicy = Policy.HTTPEgress(hosts: ["127.0.0.1:*"].compactMap(NetworkRule.init), schemes: ["http"])

    @Test func httpPosterPostsEachCastDecodedAndRefusesWhatThePolicyDoesNotAllow() async throws {
        let peer = try await PeerServer.start(logger: quiet)
        let poster = try HTTPPosterResource(
            name: "poster", configuration: ["url": "http://\(peer.address)/post?from=node", "decode_base64": "true"], policy: localPolicy, origin: "app.toml:3")
        let results = await Task.detached { () -> [String] in
            var seen: [String] = []
            for payload in ["aGVsbG8=", "not base64!"] {
                do { try poster.cast(payload: Array(payload.utf8)) } catch { seen.append("\(error)") }
            }
            return seen
        }.value
        await peer.stop()
        #expect(peer.requests.map(\.method) == ["POST"])
        #expect(peer.requests.first?.path == "/post?from=node")
        #expect(peer.requests.first?.body == Array("hello".utf8))
        #expect(results == ["resource poster: decode_base64 is on and the cast (11 bytes) is not base64"])
        #expect {
            try HTTPPosterResource(name: "poster", configuration: ["url": "http://example.org/x"], policy: localPolicy, origin: "app.toml:3")
        } throws: { error in
            "\(error)".contains("url: http://example.org:80/x is refused: example.org:80 is not in policy.http-egress.hosts (app.toml:3)")
        }
    }

    @Test func serverlessCastsTheGatewaysAnswerOnOutAndFailuresOnErr() async throws {
        let gateway = try await PeerServer.start(logger: quiet)
        let held = HeldPort(listening: false)
        func workflow(_ url: String) -> String {
            """
            { "resources": [
                { "name": "fn", "class_type": "serverless", "output_mapping": { "out": "out", "err": "err" }, "configurations": { "function_url": "\(url)" } },
                { "name": "out", "class_type": "file-log", "configurations": { "filename": "logs/out.log" } },
                { "name": "err", "class_type": "file-log", "configurations": { "filename": "logs/err.log" } } ] }
            """
        }
        let (app, node) = try signedApp(
            workflows: ["up": workflow("http://\(gateway.address)/function/echo"), "down": workflow("http://127.0.0.1:\(held.port)/function/echo")],
            policy: "[policy.http-egress]\nhosts = [\"127.0.0.1:*\"]\nschemes = [\"http\"]\n")
        for name in ["up", "down"] {
            let running = try node.start(workflowAt: "workflows/\(name).json", id: name)
            running.dataplane.inject(into: "fn", payload: Array("input".utf8))
            running.dataplane.drain()
            try node.stop(workflow: name)
        }
        await gateway.stop()
        #expect(gateway.requests.map(\.path) == ["/function/echo"])
        #expect(String(decoding: try app.read("logs/out.log"), as: UTF8.self) == "ok input\n")
        let failure = String(decoding: try app.read("logs/err.log"), as: UTF8.self)
        #expect(failure.hasPrefix("POST http://127.0.0.1:\(held.port)/function/echo failed:"), "\(failure)")
    }

    @Test func aServerlessProviderOfTheManifestIsAClassOfItsOwnThatWorkflowsCannotRedirect() async throws {
        let gateway = try await PeerServer.start(logger: quiet)
        let double = """
            { "resources": [
                { "name": "fn", "class_type": "double", "output_mapping": { "out": "out" }, "configurations": { "function_url": "http://evil.example/" } },
                { "name": "out", "class_type": "file-log", "configurations": { "filename": "logs/out.log" } } ] }
            """
        let providers = "[node.serverless]\ndouble = \"http://\(gateway.address)/double\"\nfar = \"http://far.example/double\"\n"
        let (app, node) = try signedApp(
            workflows: ["double": double, "far": double.replacingOccurrences(of: "\"double\"", with: "\"far\"")],
            policy: providers + "[policy.http-egress]\nhosts = [\"127.0.0.1:*\"]\nschemes = [\"http\"]\n")
        let running = try node.start(workflowAt: "workflows/double.json", id: "double")
        running.dataplane.inject(into: "fn", payload: Array("21".utf8))
        running.dataplane.drain()
        try node.stop(workflow: "double")
        await gateway.stop()
        #expect(String(decoding: try app.read("logs/out.log"), as: UTF8.self) == "42\n", "posted to the provider's URL, not the workflow's")
        #expect(refusal(node, "workflows/far.json").contains("far.example:80 is not in policy.http-egress.hosts"))
    }
}
