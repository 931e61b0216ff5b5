import NIOConcurrencyHelpers

/// Verified chunks, shared by every open of every trusted file, bounded in bytes and evicted
/// least-recently-used first. Only bytes that matched their signed hash are ever inserted, so a
/// hit needs no re-hashing.
public final class ChunkCache: Sendable {
    /// Identifies one chunk: the file's entry index in the trusted table and the chunk number.
    public struct Key: Hashable, Sendable {
        /// Index of the file's entry in the trusted table (`TrustedTable.Entry.index`).
        public let entry: Int
        /// Zero-based chunk number within that file.
        public let chunk: Int
    }

    /// Counters since the cache was created; read a snapshot with `statistics`.
    public struct Statistics: Sendable, Equatable {
        /// Lookups that found the chunk.
        public var hits = 0
        /// Lookups that did not find the chunk (the caller then reads and verifies it).
        public var misses = 0
        /// Chunks dropped to stay within `capacityBytes`.
        public var evictions = 0
        /// Bytes of chunk data currently held.
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

    /// Upper bound on the chunk bytes held; never negative.
    public let capacityBytes: Int
    private let state = NIOLockedValueBox(State())

    /// A negative `capacityBytes` is treated as 0, which caches nothing.
    public init(capacityBytes: Int) { self.capacityBytes = max(0, capacityBytes) }

    /// Returns the verified bytes of a cached chunk and marks it most recently used;
    /// nil on a miss. Counts a hit or a miss either way.
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

    /// Caches bytes that have already matched their signed hash, evicting the least recently
    /// used chunks to make room. Ignored if the key is present or the chunk exceeds the capacity.
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

    /// A consistent snapshot of the counters, taken under the lock.
    public var statistics: Statistics { state.withLockedValue { $0.statistics } }
}
