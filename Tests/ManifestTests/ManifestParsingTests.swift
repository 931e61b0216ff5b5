import TestSupport
import Testing

@testable import Manifest

private func parse(_ text: String, at path: String = "/apps/demo/demo.toml") throws(ManifestError) -> Manifest {
    try Manifest(bytes: Array(text.utf8), path: path)
}

private func error(of text: String) -> String {
    do {
        _ = try parse(text)
        return "no error"
    } catch {
        return error.description
    }
}

private let minimal = """
    [app]
    name = "demo"
    version = "1.0"

    [trusted]
    files = ["bin/", "data/*.json", "README.txt"]

    [allowed]
    files = ["logs/"]
    """

@Suite struct ManifestParsingTests {
    @Test func minimalManifestIsAcceptedAsWritten() throws {
        let manifest = try parse(minimal)
        #expect(manifest.app == Manifest.App(name: "demo", version: "1.0", description: nil))
        #expect(manifest.root == "/apps/demo")
        #expect(manifest.trusted.files.map(\.text) == ["bin/", "data/*.json", "README.txt"])
        #expect(manifest.trusted.files.map(\.kind) == [.directory, .glob, .literal])
        #expect(manifest.trusted.files.map(\.key) == ["trusted.files[0]", "trusted.files[1]", "trusted.files[2]"])
        #expect(manifest.allowed.map(\.text) == ["logs/"])
        #expect(manifest.trusted.chunkSize == 64 << 10)
        #expect(manifest.limits == Manifest.Limits())
        #expect(manifest.node == Manifest.Node())
        #expect(manifest.baseName == "demo")
        #expect(manifest.bytes == Array(minimal.utf8))
    }

    @Test func everyDocumentedKeyIsRead() throws {
        let manifest = try parse(
            """
            [app]
            name = "full"
            version = "2.1"
            description = "all keys"
            root = "../app-root"

            [trusted]
            files = ["code/", "**/*.wasm"]
            exclude = ["code/cache/"]
            chunk_size = "16 KiB"

            [allowed]
            files = ["logs/", "tmp/scratch.bin"]

            [workflow]
            file = "workflow.json"

            [limits]
            fuel = 1000
            memory = "32 MiB"
            timeout_ms = 250
            payload = 4096
            call_depth = 4
            on_failure = "stop"

            [node]
            listen = "127.0.0.1:9000"
            backend = "direct"
            chunk_cache = "8 MiB"
            """)
        #expect(manifest.root == "/apps/app-root")
        #expect(manifest.app.description == "all keys")
        #expect(manifest.trusted.exclude.map(\.text) == ["code/cache/"])
        #expect(manifest.trusted.chunkSize == 16 << 10)
        #expect(manifest.workflow?.string == "workflow.json")
        #expect(manifest.limits.fuel == 1000)
        #expect(manifest.limits.memoryBytes == 32 << 20)
        #expect(manifest.limits.timeoutMilliseconds == 250)
        #expect(manifest.limits.payloadBytes == 4096)
        #expect(manifest.limits.callDepth == 4)
        #expect(manifest.limits.onFailure == .stop)
        #expect(manifest.node.listen == "127.0.0.1:9000")
        #expect(manifest.node.backend == "direct")
        #expect(manifest.node.chunkCacheBytes == 8 << 20)
    }

    @Test func unknownKeysAreNamedWithASuggestion() {
        #expect(error(of: minimal + "\n[extra]\nx = 1\n").contains("unknown key \"extra\""))
        let typo = error(of: minimal.replacingOccurrences(of: "name = ", with: "nmae = "))
        #expect(typo.contains("unknown key \"app.nmae\""))
        #expect(typo.contains("did you mean \"name\""))
        #expect(error(of: minimal + "\n[limits]\nfeul = 3\n").contains("\"limits.feul\""))
    }

    @Test func wrongTypesNameTheKeyAndBothTypes() {
        #expect(
            error(of: minimal.replacingOccurrences(of: "name = \"demo\"", with: "name = 7"))
                == "/apps/demo/demo.toml: key \"app.name\" must be a string, found an integer")
        #expect(
            error(of: minimal.replacingOccurrences(of: "files = [\"logs/\"]", with: "files = \"logs/\""))
                .contains("key \"allowed.files\" must be an array of path strings, found a string"))
        #expect(
            error(of: minimal.replacingOccurrences(of: "\"README.txt\"]", with: "3]"))
                .contains("key \"trusted.files[2]\" must be a path string, found an integer"))
        #expect(error(of: minimal + "\n[limits]\nfuel = \"lots\"\n").contains("\"limits.fuel\" must be an integer, found a string"))
        #expect(error(of: minimal + "\n[node]\nchunk_cache = true\n").contains("\"node.chunk_cache\" must be a size"))
        #expect(error(of: minimal + "\n[node]\nfile_pusher_directory = \"../outside\"\n").contains("node.file_pusher_directory"))
        #expect(error(of: "app = 3\n").contains("\"app\" must be a table"))
    }

    @Test func missingAndInvalidValuesAreExplained() {
        #expect(error(of: "[trusted]\nfiles = [\"a\"]\n").contains("required key \"app\" is missing"))
        #expect(error(of: "[app]\nname = \"x\"\n[trusted]\nfiles = [\"a\"]\n").contains("required key \"app.version\" is missing"))
        #expect(error(of: "[app]\nname = \" \"\nversion = \"1\"\n[trusted]\nfiles = [\"a\"]\n").contains("\"app.name\" must not be empty"))
        #expect(
            error(of: minimal.replacingOccurrences(of: "[allowed]", with: "chunk_size = 1000\n[allowed]"))
                .contains("\"trusted.chunk_size\" must be a power of two"))
        #expect(
            error(of: minimal.replacingOccurrences(of: "[allowed]", with: "chunk_size = \"big\"\n[allowed]"))
                .contains("is not a size: \"big\""))
        #expect(error(of: minimal + "\n[node]\nbackend = \"sgx\"\n").contains("must be \"sandbox\" or \"direct\""))
        #expect(error(of: minimal + "\n[limits]\ncall_depth = 0\n").contains("must be greater than zero"))
        #expect(error(of: minimal + "\n[limits]\non_failure = \"retry\"\n").contains("must be \"stop\" or \"restart\""))
        #expect(error(of: "[app]\nname = \"x\"\nversion = \"1\"\n[trusted]\nfiles = []\n").contains("lists no files"))
    }

    @Test func pathsThatLeaveTheRootAreRefused() {
        let escape = error(of: minimal.replacingOccurrences(of: "\"README.txt\"", with: "\"../secrets.txt\""))
        #expect(escape == "trusted.files[2]: path \"../secrets.txt\" contains '..', which could leave the application root")
        #expect(error(of: minimal.replacingOccurrences(of: "\"README.txt\"", with: "\"/etc/passwd\"")).contains("is absolute"))
        #expect(error(of: minimal.replacingOccurrences(of: "\"logs/\"", with: "\"logs/../../x\"")).contains("allowed.files[0]"))
        #expect(error(of: minimal + "\n[workflow]\nfile = \"../w.json\"\n").contains("workflow.file"))
    }

    @Test func syntaxErrorsGiveLineAndColumn() {
        let message = error(of: "[app]\nname = \"demo\nversion = 1\n")
        #expect(message.hasPrefix("/apps/demo/demo.toml:2:"))
        #expect(message.contains("TOML syntax error"))
        #expect(error(of: "[app]\nname = \"a\"\nname = \"b\"\n").contains("/apps/demo/demo.toml:3"))
    }

    @Test func headersTheParserCannotTakeAreRefusedBeforeIt() {
        #expect(
            error(of: "[app]\nname = \"x\"\n[;]\n")
                == "/apps/demo/demo.toml:3:1: TOML syntax error: a table header must start with a key (a bare key or a quoted one)")
        #expect(error(of: "  [[ ;]]\n").hasPrefix("/apps/demo/demo.toml:1:3:"))
        #expect(error(of: "a = [}]\n") == "/apps/demo/demo.toml:1:6: TOML syntax error: an array must be closed by ], not }")
        #expect(error(of: "a = [1,\n # c\n }\n").hasPrefix("/apps/demo/demo.toml:3:2:"))
        #expect(error(of: "a = {b = 1]\n").contains("an inline table must be closed by }, not ]"))
        #expect(!error(of: "a = {b = [1, {c = 2}]}\n").contains("must be closed by"))
        // Brackets inside values, strings and comments are not headers.
        for fine in ["a = [\n  [1, 2],\n  [ {b = 1} ],\n]\n", "s = \"\"\"\n[;]\n\"\"\"\n", "# [;]\n", "t = '''\n[;\n'''\n", "[ \"quoted\" ]\n"] {
            #expect(!error(of: fine).contains("table header must start with a key"), "\(fine)")
        }
    }

    @Test func unreadableManifestSaysSo() {
        #expect(throws: ManifestError.self) { try Manifest.load(path: "/nonexistent/app.toml") }
        do {
            _ = try Manifest.load(path: "/nonexistent/app.toml")
        } catch {
            #expect(error.description.contains("cannot read manifest /nonexistent/app.toml"))
        }
    }

    @Test func sizesParseWithUnits() {
        #expect(ByteSize.parse("64 MiB") == 64 << 20)
        #expect(ByteSize.parse("512KiB") == 512 << 10)
        #expect(ByteSize.parse("1GB") == 1_000_000_000)
        #expect(ByteSize.parse("4096") == 4096)
        #expect(ByteSize.parse("12 B") == 12)
        #expect(ByteSize.parse("-3") == nil)
        #expect(ByteSize.parse("lots") == nil)
        #expect(ByteSize.parse("99999999999999 GiB") == nil)
        #expect(formatBytes(65536) == "64 KiB")
        #expect(formatBytes(1536) == "1.5 KiB")
        #expect(formatFixed(2.345, digits: 2) == "2.35")
    }
}

@Suite struct RelativePathTests {
    @Test func normalisesHarmlessSpellings() throws {
        #expect(try RelativePath("a/./b//c/", origin: "t").string == "a/b/c")
        #expect(try RelativePath("x", origin: "t").directoryAndName == ("", "x"))
        #expect(try RelativePath("a/b/c.txt", origin: "t").directoryAndName == ("a/b", "c.txt"))
    }

    @Test func resolvesAgainstAFolderWithinTheRoot() throws {
        #expect(try RelativePath("../functions/f.wasm", relativeTo: "workflows", origin: "t").string == "functions/f.wasm")
        #expect(try RelativePath("./f.wasm", relativeTo: "", origin: "t").string == "f.wasm")
        #expect(throws: PathError.self) { try RelativePath("../../etc/passwd", relativeTo: "workflows", origin: "t") }
        #expect(throws: PathError.self) { try RelativePath("/etc/passwd", relativeTo: "workflows", origin: "t") }
    }

    @Test func refusesEscapesAndNonsense() {
        for bad in ["..", "a/../b", "/abs", "", ".", "a\u{0}b"] {
            #expect(throws: PathError.self, "\(bad)") { try RelativePath(bad, origin: "t") }
        }
    }
}

@Suite struct PathPatternTests {
    @Test func coversDirectoriesLiteralsAndGlobs() throws {
        let directory = try PathPattern("logs/", key: "k")
        #expect(directory.covers(try RelativePath("logs/a/b.txt", origin: "t")))
        #expect(!directory.covers(try RelativePath("logsx/a", origin: "t")))
        let glob = try PathPattern("data/*.json", key: "k")
        #expect(glob.covers(try RelativePath("data/a.json", origin: "t")))
        #expect(!glob.covers(try RelativePath("data/sub/a.json", origin: "t")))
        #expect(!glob.covers(try RelativePath("data/.hidden.json", origin: "t")))
        let deep = try PathPattern("**/*.wasm", key: "k")
        #expect(deep.covers(try RelativePath("a/b/c/f.wasm", origin: "t")))
        #expect(deep.covers(try RelativePath("f.wasm", origin: "t")))
        #expect(!deep.covers(try RelativePath("f.wat", origin: "t")))
        let literal = try PathPattern("README.txt", key: "k")
        #expect(literal.covers(try RelativePath("README.txt", origin: "t")))
        #expect(!literal.covers(try RelativePath("README.txt.bak", origin: "t")))
        #expect(try PathPattern("lib/[ab]?.so", key: "k").covers(try RelativePath("lib/a1.so", origin: "t")))
    }
}
