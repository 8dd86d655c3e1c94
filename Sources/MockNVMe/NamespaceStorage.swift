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
///
/// With a `backing` file (MockNamespace.backingFile) the durable layer is that file instead of
/// `durable`, which then stays empty; the cache stays in memory. The file is consulted only on a
/// cache miss, a durable write and when persisting, so in-memory namespaces pay one nil check
/// there and nothing else. Its I/O errors surface as NVMe media statuses (thrown CommandFailure).
struct NamespaceStorage {
    /// 64 blocks a chunk, so one UInt64 is a chunk's dirty mask.
    static let blocksPerChunk = 64

    let blockSize: Int
    let blockCount: UInt64
    var durable: [UInt64: Chunk] = [:]
    var cache: [UInt64: CachedChunk] = [:]
    let backing: BackingFile?

    init(blockSize: Int, blockCount: UInt64, backing: BackingFile? = nil) {
        self.blockSize = blockSize
        self.blockCount = blockCount
        self.backing = backing
    }

    var chunkBytes: Int { blockSize * Self.blocksPerChunk }

    /// Whether `count` blocks from `lba` lie inside the namespace (overflow-safe).
    func contains(lba: UInt64, count: UInt64) -> Bool {
        lba < blockCount && count <= blockCount - lba
    }

    /// The current content of one block (cache first), or nil when it reads as zeros. A block read
    /// from a backing file is valid until the next call (it sits in the file's scratch block).
    func block(_ lba: UInt64) throws(CommandFailure) -> UnsafeRawPointer? {
        let index = lba / UInt64(Self.blocksPerChunk)
        let slot = Int(lba % UInt64(Self.blocksPerChunk))
        if let cached = cache[index], cached.dirty & (1 << UInt64(slot)) != 0 {
            return UnsafeRawPointer(cached.chunk.bytes + slot * blockSize)
        }
        if let backing { return try backing.read(lba) }
        if let chunk = durable[index] { return UnsafeRawPointer(chunk.bytes + slot * blockSize) }
        return nil
    }

    /// Stores one block from `source` (nil: zeros). `cached` writes land in the volatile cache;
    /// otherwise they are durable at once and supersede any cached copy of the block.
    mutating func writeBlock(_ lba: UInt64, from source: UnsafeRawPointer?, cached: Bool) throws(CommandFailure) {
        let index = lba / UInt64(Self.blocksPerChunk)
        let slot = Int(lba % UInt64(Self.blocksPerChunk))
        let bit: UInt64 = 1 << UInt64(slot)
        if cached {
            // Already zeros everywhere (a file's block may hold data, so it never takes this shortcut).
            if source == nil, cache[index] == nil, backing == nil, durable[index] == nil { return }
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
        if let backing {
            if let source { return try backing.write(lba, from: source, blocks: 1) }
            return try backing.zero(lba: lba, count: 1)
        }
        if source == nil, durable[index] == nil { return }
        let chunk = durableChunk(index)
        Self.fill(chunk.bytes + slot * blockSize, from: source, count: blockSize)
    }

    /// Writes zeros over `count` blocks from `lba` (Write Zeroes, deallocation). Visits only chunks
    /// that exist when the range is larger than what is stored, so deallocating a whole 66 TB
    /// namespace costs time in proportion to what was written.
    ///
    /// A file-backed namespace zeroes the file at once (a hole punched) even when `cached`: caching
    /// zeros for a huge range would cost memory in proportion to its size, and a write cache may
    /// always write back early, so the result is one a real device may show after a power cut.
    mutating func zero(lba: UInt64, count: UInt64, cached: Bool) throws(CommandFailure) {
        guard count > 0 else { return }
        if let backing {
            dropCached(lba: lba, count: count)
            return try backing.zero(lba: lba, count: count)
        }
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
                try writeBlock(block, from: nil, cached: cached)
                block += 1
            }
        }
    }

    /// Forgets the cached copies of `count` blocks from `lba` (they are about to be superseded
    /// durably). Visits the cached chunks, which are few next to a large range.
    private mutating func dropCached(lba: UInt64, count: UInt64) {
        let per = UInt64(Self.blocksPerChunk)
        let end = lba + count
        for index in cache.keys where index * per < end && (index + 1) * per > lba {
            guard var entry = cache[index] else { continue }
            for slot in 0..<per where (index * per + slot) >= lba && (index * per + slot) < end {
                entry.dirty &= ~(1 << slot)
            }
            cache[index] = entry.dirty == 0 ? nil : entry
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

    /// The durable chunk at `index`, made (zero-filled) on first use.
    mutating func durableChunk(_ index: UInt64) -> Chunk {
        if let existing = durable[index] { return existing }
        let chunk = Chunk(byteCount: chunkBytes)
        durable[index] = chunk
        return chunk
    }
}
