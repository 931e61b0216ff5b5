import NIOConcurrencyHelpers

/// Verified chunks, shared by every open of every trusted file, bounded in bytes and evicted
/// least-recently-used first. Only bytes that matched their signed hash are ever inserted, so a
/// hit needs no re-hashing.
public final class ChunkCache: Sendable {
    public struct Key: Hashable, Sendable {
        public let entry: Int
        public let chunk: Int
    }

    public struct Statistics: Sendable, Equatable {
        public var hits = 0
        public var misses = 0
        public var evictions = 0
        public var bytes = 0
    }

    private struct Node {
        var key: Key
        var bytes: [UInt8]
        var previous: Int
        var next: Int
    }

    /// A doubly linked list threaded through an array (indices, not references, so there is
    /// no ARC traffic per access); `head` is the most recently used.
    private struct State {
        var index: [Key: Int] = [:]
        var nodes: [Node] = []
        var free: [Int] = []
        var head = -1
        var tail = -1
        var statistics = Statistics()

        mutating func unlink(_ slot: Int) {
            let node = nodes[slot]
            if node.previous >= 0 { nodes[node.previous].next = node.next } else { head = node.next }
            if node.next >= 0 { nodes[node.next].previous = node.previous } else { tail = node.previous }
        }

        mutating func pushFront(_ slot: Int) {
            nodes[slot].previous = -1
            nodes[slot].next = head
            if head >= 0 { nodes[head].previous = slot }
            head = slot
            if tail < 0 { tail = slot }
        }
    }

    public let capacityBytes: Int
    private let state = NIOLockedValueBox(State())

    public init(capacityBytes: Int) { self.capacityBytes = max(0, capacityBytes) }

    public func get(_ key: Key) -> [UInt8]? {
        state.withLockedValue { state in
            guard let slot = state.index[key] else {
                state.statistics.misses += 1
                return nil
            }
            state.statistics.hits += 1
            if state.head != slot {
                state.unlink(slot)
                state.pushFront(slot)
            }
            return state.nodes[slot].bytes
        }
    }

    public func insert(_ key: Key, _ bytes: [UInt8]) {
        guard bytes.count <= capacityBytes else { return }
        state.withLockedValue { state in
            if state.index[key] != nil { return }
            while state.statistics.bytes + bytes.count > capacityBytes, state.tail >= 0 {
                let victim = state.tail
                state.unlink(victim)
                state.index[state.nodes[victim].key] = nil
                state.statistics.bytes -= state.nodes[victim].bytes.count
                state.statistics.evictions += 1
                state.nodes[victim].bytes = []
                state.free.append(victim)
            }
            let node = Node(key: key, bytes: bytes, previous: -1, next: -1)
            let slot: Int
            if let reused = state.free.popLast() {
                state.nodes[reused] = node
                slot = reused
            } else {
                state.nodes.append(node)
                slot = state.nodes.count - 1
            }
            state.index[key] = slot
            state.pushFront(slot)
            state.statistics.bytes += bytes.count
        }
    }

    public var statistics: Statistics { state.withLockedValue { $0.statistics } }
}
