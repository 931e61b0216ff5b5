import Foundation
import FunctionRuntime
import Manifest
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Shield
import Support

/// `file-pusher`, as EDGELESS's: every `period-ms` (default 1000) it casts the content of the
/// next file of a folder, in path order and round robin, on its `out` output (base64-encoded
/// with `encode-base64` = "true"); it takes no events itself. The folder is the node's, as in
/// EDGELESS: `[node] file_pusher_directory` in the manifest; a workflow's `directory` (ours)
/// overrides it. The files are read
/// once, at start, through the Shield: the signed files under the folder (verified), or, if
/// `[allowed] files` covers the folder, the regular files in it — at most `maxFiles`, each
/// within the functions' payload limit. An empty folder casts empty payloads, as in EDGELESS.
final class FilePusherResource: Resource {
    static let maxFiles = 1000

    let name: String
    private let timer: NIOLockedValueBox<RepeatedTask?>

    init(name: String, configuration: [String: String], context: ResourceContext) throws(NodeError) {
        self.name = name
        let periodText = configuration["period-ms"] ?? "1000"
        guard periodText.count <= 9, let period = Int64(periodText), period >= 1 else {
            throw .resource(name, "period-ms \"\(LogText.escaped(periodText, maxBytes: 32))\" must be a whole number of milliseconds, at least 1")
        }
        let encode = try ResourceConfiguration.flag("encode-base64", in: configuration, name: name)
        guard let directory = configuration["directory"] ?? context.manifest.node.filePusherDirectory?.string else {
            throw .resource(
                name,
                "no folder to push from: set [node] file_pusher_directory in the manifest (EDGELESS's node.toml [resources.file_pusher_provider] directory), "
                    + "or directory here")
        }
        let contents = try Self.read(directory: directory, name: name, context: context).map { bytes in
            encode ? Array(Data(bytes).base64EncodedString().utf8) : bytes
        }
        let dataplane = context.dataplane
        let next = NIOLockedValueBox(0)
        timer = NIOLockedValueBox(
            MultiThreadedEventLoopGroup.singleton.next().scheduleRepeatedTask(initialDelay: .milliseconds(period), delay: .milliseconds(period)) { _ in
                let payload: [UInt8] = next.withLockedValue { index in
                    guard !contents.isEmpty else { return [] }
                    defer { index = (index + 1) % contents.count }
                    return contents[index]
                }
                // Never waits: a full target counts the push undelivered, and the timer goes on.
                _ = dataplane.cast(fromResource: name, output: "out", payload: payload)
            })
    }

    deinit { stop() }

    /// The folder's files, in path order: signed ones verified; allowed ones read as they are.
    private static func read(directory: String, name: String, context: ResourceContext) throws(NodeError) -> [[UInt8]] {
        let folder: RelativePath
        do { folder = try RelativePath(directory, origin: "directory") } catch { throw .resourceFailed(name, .init(error)) }
        let prefix = folder.string + "/"
        let table = context.shield.table
        var paths = table.entries.map { table.path(of: $0) }.filter { $0.hasPrefix(prefix) }
        let allowed = context.shield.allowed.contains { $0.covers(folder) }
        if allowed {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: context.manifest.root + "/" + folder.string)) ?? []
            paths += names.map { prefix + $0 }.filter { table.lookup(normalised: $0) == nil }
        }
        guard allowed || !paths.isEmpty else {
            throw .resource(name, "directory \"\(folder.string)\" holds no signed file and is not under [allowed] files; sign its files or allow it")
        }
        guard paths.count <= maxFiles else { throw .resource(name, "directory \"\(folder.string)\" has \(paths.count) files, over \(maxFiles)") }
        var contents: [[UInt8]] = []
        for path in paths.sorted() {
            let bytes: [UInt8]
            do {
                if table.lookup(normalised: path) != nil {
                    bytes = try context.shield.openTrusted(path).readAll()
                } else {
                    var status = stat()
                    guard lstat(context.manifest.root + "/" + path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { continue }
                    let fd = try context.shield.openAllowed(path, flags: O_RDONLY)
                    defer { close(fd) }
                    guard status.st_size <= context.maxPayloadBytes else {
                        throw NodeError.resource(name, "\(path) has \(status.st_size) bytes, over the functions' payload limit of \(context.maxPayloadBytes)")
                    }
                    var read = [UInt8](repeating: 0, count: Int(status.st_size))
                    if case let .failure(shortfall) = read.withUnsafeMutableBytes({ DescriptorIO.readFully(fd, into: $0, at: 0) }) {
                        throw NodeError.resource(name, "\(path) could not be read: \(shortfall.reason)")
                    }
                    bytes = read
                }
            } catch let error as NodeError {
                throw error
            } catch {
                throw .resourceFailed(name, .init(error))
            }
            guard bytes.count <= context.maxPayloadBytes else {
                throw .resource(name, "\(path) has \(bytes.count) bytes, over the functions' payload limit of \(context.maxPayloadBytes)")
            }
            contents.append(bytes)
        }
        return contents
    }

    func cast(payload: [UInt8]) throws {
        throw NodeError.resource(name, "file-pusher takes no events: it pushes its folder's files on out")
    }

    /// Cancels the timer: no push is scheduled after this returns.
    func stop() {
        timer.withLockedValue { task in
            task?.cancel()
            task = nil
        }
    }
}

extension FilePusherResource: ResourceClass {
    static let classType = "file-pusher"
    static let requiredConfiguration: [String] = []
    static let optionalConfiguration = ["directory", "period-ms", "encode-base64"]

    static func admit(_ resource: Workflow.Resource, key: String, in context: AdmissionContext) -> [String] { [] }

    static func make(_ resource: Workflow.Resource, in context: ResourceContext) throws(NodeError) -> FilePusherResource {
        try FilePusherResource(name: resource.name, configuration: resource.configurations, context: context)
    }
}
