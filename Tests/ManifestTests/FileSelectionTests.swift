import Foundation
import TestSupport
import Testing

@testable import Manifest

private func select(_ app: TemporaryApp, _ trusted: [String], exclude: [String] = [], allowed: [String] = []) throws -> FileSelection {
    FileSelection(
        root: app.root,
        include: try trusted.enumerated().map { try PathPattern($1, key: "trusted.files[\($0)]") },
        exclude: try exclude.enumerated().map { try PathPattern($1, key: "trusted.exclude[\($0)]") },
        allowed: try allowed.enumerated().map { try PathPattern($1, key: "allowed.files[\($0)]") })
}

@Suite struct FileSelectionTests {
    let app: TemporaryApp

    init() throws {
        app = try TemporaryApp([
            "bin/run": "r", "bin/lib/a.so": "a", "bin/lib/.hidden": "h",
            "data/x.json": "x", "data/y.json": "y", "data/z.txt": "z", "data/sub/w.json": "w",
            "README.txt": "readme", "logs/old.log": "l",
        ])
    }

    @Test func expandsDirectoriesGlobsAndLiterals() throws {
        let selection = try select(app, ["bin/", "data/*.json", "README.txt"])
        #expect(selection.problems.isEmpty)
        #expect(selection.files.map(\.path.string) == ["README.txt", "bin/lib/.hidden", "bin/lib/a.so", "bin/run", "data/x.json", "data/y.json"])
        #expect(selection.files.allSatisfy { !$0.viaSymlink })
        #expect(selection.files.first?.identity.size == 6)
    }

    @Test func doubleStarAndExcludes() throws {
        let selection = try select(app, ["**/*.json", "bin"], exclude: ["bin/lib/"])
        #expect(selection.problems.isEmpty)
        #expect(selection.files.map(\.path.string) == ["bin/run", "data/sub/w.json", "data/x.json", "data/y.json"])
    }

    @Test func missingFilesAndEmptyGlobsNameTheKey() throws {
        let selection = try select(app, ["nothere.txt", "data/*.yaml"])
        #expect(selection.problems.count == 2)
        #expect(selection.problems[0].kind == .missing)
        #expect(selection.problems[0].description.contains("trusted.files[0]"))
        #expect(selection.problems[1].kind == .matchedNothing)
        #expect(selection.problems[1].description.contains("trusted.files[1] selects no files"))
    }

    @Test func symlinkInsideRootIsRecordedAsItsTarget() throws {
        try app.symlink("bin/current", to: "run")
        let selection = try select(app, ["bin/"])
        let link = try #require(selection.files.first { $0.path.string == "bin/current" })
        #expect(link.viaSymlink)
        #expect(link.absolutePath.hasSuffix("/bin/run"))
        #expect(selection.problems.isEmpty)
    }

    @Test func symlinksLeavingTheRootOrDanglingAreErrors() throws {
        try app.symlink("bin/passwd", to: "/etc/passwd")
        try app.symlink("bin/dangling", to: "nowhere")
        let selection = try select(app, ["bin/"])
        #expect(selection.problems.map(\.kind).sorted { "\($0)" < "\($1)" } == [.danglingSymlink, .escapesRoot])
        #expect(selection.problems.contains { $0.path == "bin/passwd" && $0.detail.contains("outside the application root") })
        #expect(!selection.files.contains { $0.path.string == "bin/passwd" })
    }

    @Test func directorySymlinksAreNotDescendedAndCannotBeNamedThrough() throws {
        try app.symlink("bin/libs", to: "lib")
        try app.symlink("outside", to: "/etc")
        let walked = try select(app, ["bin/"])
        #expect(walked.problems.isEmpty)
        #expect(walked.skippedDirectoryLinks.map(\.string) == ["bin/libs"])
        let named = try select(app, ["outside/passwd"])
        #expect(named.problems.first?.kind == .escapesRoot)
        #expect(named.problems.first?.detail.contains("goes through the symlink") == true)
    }

    @Test func aFileCannotBeBothTrustedAndAllowed() throws {
        let selection = try select(app, ["logs/", "README.txt"], allowed: ["logs/"])
        #expect(selection.problems.first?.kind == .trustedAndAllowed)
        #expect(selection.problems.first?.detail.contains("allowed.files[0]") == true)
    }

    @Test func overlappingPatternsAndTrailingSlashes() throws {
        let overlap = try select(app, ["bin/", "bin/run", "bin/lib/*.so"])
        #expect(overlap.problems.isEmpty)
        #expect(overlap.files.map(\.path.string) == ["bin/lib/.hidden", "bin/lib/a.so", "bin/run"])
        let slash = try select(app, ["README.txt/"])
        #expect(slash.problems.first?.detail.contains("ends with '/' but is not a directory") == true)
        try FileManager.default.createDirectory(atPath: app.path("empty"), withIntermediateDirectories: true)
        #expect(try select(app, ["empty/"]).problems.first?.kind == .matchedNothing)
    }

    @Test func specialFilesAreRefused() throws {
        #expect(mkfifo(app.path("data/pipe.json"), 0o644) == 0)
        let selection = try select(app, ["data/"])
        #expect(selection.problems.first?.kind == .notRegularFile)
        #expect(selection.problems.first?.path == "data/pipe.json")
    }
}
