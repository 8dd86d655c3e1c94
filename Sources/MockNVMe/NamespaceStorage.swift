/// A fixed run of `NamespaceStorage.blocksPerChunk` logical blocks, zero-filled when made.
/// A class so dictionaries move a pointer, not the block data.
final class Chunk {
    let bytes: UnsafeMutableRawPointer

    init(byteCount: Int) {
        bytes = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        bytes.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
    }

    deinit { bytes.deallocate() }
}

/// A chunk held by the volatile write cache, with the blocks it really holds marked dirty
/// (bit i = block i of the chunk): a cached chunk shadows the durable one only where dirty.
struct CachedChunk {
    var chunk: Chunk
    var dirty: UInt64
}

/// The media of one namespace, sparse: blocks are stored in chunks made on first write, so a
/// namespace of any size costs memory only for what was written. Never-written and deallocated
/// blocks read as zeros (DLFEAT = 001b).
///
/// Two layers model the volatile write cache (see WriteCache.swift): `durable` is what survives
/// a power cut; `cache` holds written-but-not-yet-persistent blocks.
struct NamespaceStorage {
    /// 64 blocks a chunk, so one UInt64 is a chunk's dirty mask.
    static let blocksPerChunk = 64

    let blockSize: Int
    let blockCount: UInt64
    var durable: [UInt64: Chunk] = [:]
    var cache: [UInt64: CachedChunk] = [:]

    init(blockSize: Int, blockCount: UInt64) {
        self.blockSize = blockSize
        self.blockCount = blockCount
    }

    var chunkBytes: Int { blockSize * Self.blocksPerChunk }

    /// Whether `count` blocks from `lba` lie inside the namespace (overflow-safe).
    func contains(lba: UInt64, count: UInt64) -> Bool {
        lba < blockCount && count <= blockCount - lba
    }

    /// The current content of one block (cache first), or nil when it reads as zeros.
    func block(_ lba: UInt64) -> UnsafeRawPointer? {
        let index = lba / UInt64(Self.blocksPerChunk)
        let slot = Int(lba % UInt64(Self.blocksPerChunk))
        if let cached = cache[index], cached.dirty & (1 << UInt64(slot)) != 0 {
            return UnsafeRawPointer(cached.chunk.bytes + slot * blockSize)
        }
        if let chunk = durable[index] { return UnsafeRawPointer(chunk.bytes + slot * blockSize) }
        return nil
    }

    /// Stores one block from `source` (nil: zeros). `cached` writes land in the volatile cache;
    /// otherwise they are durable at once and supersede any cached copy of the block.
    mutating func writeBlock(_ lba: UInt64, from source: UnsafeRawPointer?, cached: Bool) {
        let index = lba / UInt64(Self.blocksPerChunk)
        let slot = Int(lba % UInt64(Self.blocksPerChunk))
        let bit: UInt64 = 1 << UInt64(slot)
        if cached {
            if source == nil, cache[index] == nil, durable[index] == nil { return }  // already zeros everywhere
            var entry = cache[index] ?? CachedChunk(chunk: Chunk(byteCount: chunkBytes), dirty: 0)
            Self.fill(entry.chunk.bytes + slot * blockSize, from: source, count: blockSize)
            entry.dirty |= bit
            cache[index] = entry
            return
        }
        if var entry = cache[index], entry.dirty & bit != 0 {
            entry.dirty &= ~bit
            cache[index] = entry.dirty == 0 ? nil : entry
        }
        if source == nil, durable[index] == nil { return }
        let chunk: Chunk
        if let existing = durable[index] {
            chunk = existing
        } else {
            chunk = Chunk(byteCount: chunkBytes)
            durable[index] = chunk
        }
        Self.fill(chunk.bytes + slot * blockSize, from: source, count: blockSize)
    }

    /// Writes zeros over `count` blocks from `lba` (Write Zeroes, deallocation). Visits only chunks
    /// that exist when the range is larger than what is stored, so deallocating a whole 66 TB
    /// namespace costs time in proportion to what was written.
    mutating func zero(lba: UInt64, count: UInt64, cached: Bool) {
        guard count > 0 else { return }
        let per = UInt64(Self.blocksPerChunk)
        let firstChunk = lba / per
        let lastChunk = (lba + count - 1) / per
        let chunkIndices: [UInt64]
        if lastChunk - firstChunk + 1 <= UInt64(durable.count + cache.count) {
            chunkIndices = Array(firstChunk...lastChunk)
        } else {
            let stored = Set(durable.keys).union(cache.keys)
            chunkIndices = stored.filter { $0 >= firstChunk && $0 <= lastChunk }.sorted()
        }
        for index in chunkIndices {
            let start = max(lba, index * per)
            let end = min(lba + count, (index + 1) * per)
            var block = start
            while block < end {
                writeBlock(block, from: nil, cached: cached)
                block += 1
            }
        }
    }

    /// Blocks that hold data somewhere (durable or cached): for tests and NUSE.
    var storedChunkCount: Int { Set(durable.keys).union(cache.keys).count }

    @inline(__always)
    static func fill(_ destination: UnsafeMutableRawPointer, from source: UnsafeRawPointer?, count: Int) {
        if let source {
            destination.copyMemory(from: source, byteCount: count)
        } else {
            destination.initializeMemory(as: UInt8.self, repeating: 0, count: count)
        }
    }
}
