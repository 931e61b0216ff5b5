import Support

// Each error type's stable codes (see `CodedError`); tests pin them.

extension ControlFileError: CodedError {
    public enum Code: String, Sendable, CaseIterable {
        case noNode = "control-file.no-node"
        case severalNodes = "control-file.several-nodes"
        case exposed = "control-file.exposed"
        case unusableFolder = "control-file.unusable-folder"
        case unreadable = "control-file.unreadable"
        case unwritable = "control-file.unwritable"
    }

    public var code: Code {
        switch self {
        case .noNode: .noNode
        case .severalNodes: .severalNodes
        case .exposed: .exposed
        case .unusableFolder: .unusableFolder
        case .unreadable: .unreadable
        case .unwritable: .unwritable
        }
    }
}
