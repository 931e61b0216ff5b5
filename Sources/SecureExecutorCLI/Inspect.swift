import ArgumentParser
import Foundation
import Manifest
import TrustedFiles

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a trusted-file table holds.",
        discussion: """
            Prints the header fields, the measurement (when APP.sig sits beside the table) and one \
            row per file: path, size, root hash, chunk count. The table's structure is validated \
            first; its signature is checked by `verify`, not here.
            """)

    @Argument(help: "The table (APP.trusted).")
    var table: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let loaded: TrustedTable
        do { loaded = try TrustedTable.load(path: table) } catch { fail(error) }
        let digest = loaded.withBytes { hexString(FileHashing.tableDigest($0)) }
        let signaturePath = (table.hasSuffix(".trusted") ? String(table.dropLast(8)) : table) + ".sig"
        let signature = FileManager.default.contents(atPath: signaturePath)
            .flatMap { try? SignatureFile.decode($0, source: signaturePath) }
        let rows = loaded.entries.map { entry in
            Row(
                path: loaded.path(of: entry), size: entry.size, rootHash: hexString(loaded.rootHash(of: entry)),
                chunks: entry.chunkCount, symlink: entry.viaSymlink)
        }
        let report = Report(
            formatVersion: TrustedTable.formatVersion, bytes: loaded.byteCount, chunkSize: loaded.chunkSize,
            hashAlgorithm: "sha256", files: loaded.count, directories: loaded.directoryCount,
            storedChunkHashes: loaded.chunkHashCount, tableDigest: digest,
            signatureMatchesTable: signature.map { $0.tableDigest == digest },
            measurement: signature?.measurement, signer: signature?.keyID, app: signature.map { "\($0.appName) \($0.appVersion)" },
            entries: rows)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("table:          \(table) (\(formatBytes(UInt64(report.bytes))), format version \(report.formatVersion))")
        print("chunk size:     \(formatBytes(UInt64(report.chunkSize))), hash sha256")
        print("files:          \(report.files) in \(report.directories) directories, \(report.storedChunkHashes) stored chunk hashes")
        print("table digest:   \(digest)")
        if let signature {
            let matches = signature.tableDigest == digest ? "matches this table" : "DOES NOT match this table"
            print("signature:      \(signaturePath): \(signature.appName) \(signature.appVersion), key \(signature.keyID), \(matches)")
            print("measurement:    \(signature.measurement)")
        } else {
            print("signature:      none beside the table (\(signaturePath))")
        }
        let width = max(4, rows.map(\.path.count).max() ?? 0)
        print("")
        print(
            "PATH".padding(toLength: width, withPad: " ", startingAt: 0) + "  " + "SIZE".leftPadded(14) + "  ROOT HASH" + String(repeating: " ", count: 57)
                + "CHUNKS")
        for row in rows {
            print(
                row.path.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + String(row.size).leftPadded(14)
                    + "  " + row.rootHash + "  " + String(row.chunks).leftPadded(6) + (row.symlink ? "  (symlink)" : ""))
        }
    }

    struct Row: Encodable {
        var path: String
        var size: UInt64
        var rootHash: String
        var chunks: Int
        var symlink: Bool
        enum CodingKeys: String, CodingKey {
            case path, size, chunks, symlink
            case rootHash = "root_hash"
        }
    }

    struct Report: Encodable {
        var formatVersion: Int
        var bytes: Int
        var chunkSize: Int
        var hashAlgorithm: String
        var files: Int
        var directories: Int
        var storedChunkHashes: Int
        var tableDigest: String
        var signatureMatchesTable: Bool?
        var measurement: String?
        var signer: String?
        var app: String?
        var entries: [Row]
        enum CodingKeys: String, CodingKey {
            case bytes, files, directories, measurement, signer, app, entries
            case formatVersion = "format_version"
            case chunkSize = "chunk_size"
            case hashAlgorithm = "hash_algorithm"
            case storedChunkHashes = "stored_chunk_hashes"
            case tableDigest = "table_digest"
            case signatureMatchesTable = "signature_matches_table"
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
