import Testing

@testable import Manifest

private let app = """
    [app]
    name = "demo"
    version = "1.0"
    [trusted]
    files = ["bin/"]
    [allowed]
    files = ["logs/"]

    """

private func policy(_ text: String) throws(ManifestError) -> Manifest {
    try Manifest(bytes: Array((app + text).utf8), path: "/apps/demo/demo.toml")
}

private func error(of text: String) -> String {
    do {
        _ = try policy(text)
        return "no error"
    } catch {
        return error.description
    }
}

@Suite struct PolicyParsingTests {
    @Test func withoutAPolicyNothingMayBeReachedOrClaimed() throws {
        let manifest = try policy("")
        #expect(manifest.policy.httpEgress.hosts.isEmpty)
        #expect(manifest.policy.httpEgress.schemes == ["https"])
        #expect(manifest.policy.redis.endpoints.isEmpty)
        #expect(manifest.policy.fileLog.paths == nil)
        #expect(manifest.policy.httpIngress.hosts.isEmpty)
        #expect(manifest.policy.sqlx.paths == nil && manifest.policy.sqlx.maxSize == 64 << 20)
        #expect(manifest.origin(of: "policy.redis.endpoints", default: "none") == "demo.toml, not set (default: none)")
    }

    @Test func everyPolicyKeyIsReadAndItsLineKnown() throws {
        let manifest = try policy(
            """
            [policy.http-egress]
            hosts = ["api.example.com", "*.cdn.example.com:8443", "10.0.0.1:8000-8099", "[::1]:*"]
            schemes = ["http", "https"]
            [policy.redis]
            endpoints = ["127.0.0.1", "cache.internal:7000"]
            [policy.file-log]
            paths = ["logs/app-*.log"]
            [policy.http-ingress]
            hosts = ["shop.example.com", "*.shop.example.com"]
            paths = ["/api/"]
            [policy.sqlx]
            paths = ["state/*.db"]
            max_size = "1 MiB"
            """)
        #expect(manifest.policy.sqlx.paths?.map(\.text) == ["state/*.db"] && manifest.policy.sqlx.maxSize == 1 << 20)
        let egress = manifest.policy.httpEgress
        #expect(egress.hosts.map(\.text) == ["api.example.com", "*.cdn.example.com:8443", "10.0.0.1:8000-8099", "[::1]:*"])
        #expect(egress.hosts[0].allows(host: "api.example.com", port: 443, defaultPort: 443))
        #expect(!egress.hosts[0].allows(host: "api.example.com", port: 8443, defaultPort: 443))
        #expect(egress.hosts[1].allows(host: "img.cdn.example.com", port: 8443, defaultPort: 443))
        #expect(!egress.hosts[1].allows(host: "cdn.example.com", port: 8443, defaultPort: 443), "*.suffix is below the suffix, not the suffix")
        #expect(!egress.hosts[1].allows(host: "evilcdn.example.com", port: 8443, defaultPort: 443))
        #expect(egress.hosts[2].allows(host: "10.0.0.1", port: 8050, defaultPort: 80))
        #expect(!egress.hosts[2].allows(host: "10.0.0.1", port: 8100, defaultPort: 80))
        #expect(egress.hosts[3].allows(host: "::1", port: 1, defaultPort: 80))
        #expect(egress.schemes == ["http", "https"])
        #expect(manifest.policy.redis.endpoints[0].allows(host: "127.0.0.1", port: 6379, defaultPort: Policy.redisPort))
        #expect(!manifest.policy.redis.endpoints[0].allows(host: "127.0.0.1", port: 6380, defaultPort: Policy.redisPort))
        #expect(manifest.policy.fileLog.paths?.map(\.text) == ["logs/app-*.log"])
        #expect(manifest.policy.httpIngress.allows(host: "www.shop.example.com"))
        #expect(!manifest.policy.httpIngress.allows(host: "*"), "claiming any host needs \"*\" in the policy")
        #expect(manifest.policy.httpIngress.allows(pathPrefix: "/api/v1"))
        #expect(!manifest.policy.httpIngress.allows(pathPrefix: ""))
        #expect(manifest.origin(of: "policy.http-egress.hosts", default: "none") == "demo.toml:9")
        #expect(manifest.origin(of: "policy.http-ingress.paths", default: "/") == "demo.toml:17")
    }

    @Test func badEntriesNameTheKeyAndIndex() {
        #expect(
            error(of: "[policy.http-egress]\nhosts = [\"ok.example\", \"bad host\"]\n")
                == "/apps/demo/demo.toml: key \"policy.http-egress.hosts[1]\" \"bad host\" is not HOST, HOST:PORT, HOST:LOW-HIGH or HOST:* (HOST: a name, *.SUFFIX, an IPv4 address or [IPv6]; ports 1-65535)"
        )
        #expect(error(of: "[policy.http-egress]\nhosts = [\"a.example:99999\"]\n").contains("key \"policy.http-egress.hosts[0]\""))
        #expect(error(of: "[policy.http-egress]\nhosts = [\"*\"]\n").contains("key \"policy.http-egress.hosts[0]\""), "egress to any host is not a policy")
        #expect(
            error(of: "[policy.http-egress]\nschemes = [\"ftp\"]\n").contains(
                "key \"policy.http-egress.schemes[0]\" must be \"http\" or \"https\", got \"ftp\""))
        #expect(error(of: "[policy.redis]\nendpoints = \"127.0.0.1\"\n").contains("policy.redis.endpoints"))
        #expect(error(of: "[policy.http-ingress]\npaths = [\"api\"]\n").contains("key \"policy.http-ingress.paths[0]\" \"api\" must start with /"))
        #expect(error(of: "[policy.http-ingress]\nhosts = [\"shop.example:80\"]\n").contains("key \"policy.http-ingress.hosts[0]\""))
        #expect(error(of: "[policy.smtp]\nhosts = []\n").contains("policy.smtp"))
        #expect(error(of: "[policy.file-log]\npaths = [\"../elsewhere.log\"]\n") != "no error")
        #expect(error(of: "[policy.sqlx]\nmax_size = \"4 KiB\"\n").contains("key \"policy.sqlx.max_size\" must be at least 64 KiB (65536), got 4096"))
        #expect(error(of: "[policy.sqlx]\nurl = \"sqlite://x.db\"\n").contains("policy.sqlx.url"))
    }
}
