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
        NamespaceGeometry(blockSize: blockSize, blockCount: blockCount).contains(lba: lba, count: count)
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
    /// that may hold data when the range is larger than what is stored, so deallocating a whole
    /// 66 TB namespace costs time in proportion to what was written.
    ///
    /// Durability rule, the same for memory and file: zeroing and deallocating are writes. With
    /// `cached` (an enabled write cache and no FUA) the zeros land in the volatile cache, so a
    /// power cut before a Flush brings the old data back, as it would after an unflushed write;
    /// otherwise they are durable at once. For a file the chunks that may hold data are its data
    /// extents (SEEK_DATA), so caching zeros costs memory in proportion to what was written.
    mutating func zero(lba: UInt64, count: UInt64, cached: Bool) throws(CommandFailure) {
        guard count > 0 else { return }
        if let backing, !cached {
            dropCached(lba: lba, count: count)
            return try backing.zero(lba: lba, count: count)
        }
        for index in try chunksThatMayHoldData(lba: lba, count: count) {
            let per = UInt64(Self.blocksPerChunk)
            var block = max(lba, index * per)
            let end = min(lba + count, (index + 1) * per)
            while block < end {
                try writeBlock(block, from: nil, cached: cached)
                block += 1
            }
        }
    }

    /// The chunk indices overlapping `count` blocks from `lba` that hold data somewhere, in order:
    /// every chunk of a range no larger than what is stored, else the stored ones (cached, and
    /// durable in memory or in the file's data extents).
    private func chunksThatMayHoldData(lba: UInt64, count: UInt64) throws(CommandFailure) -> [UInt64] {
        let per = UInt64(Self.blocksPerChunk)
        let firstChunk = lba / per
        let lastChunk = (lba + count - 1) / per
        if backing == nil, lastChunk - firstChunk + 1 <= UInt64(durable.count + cache.count) {
            return Array(firstChunk...lastChunk)
        }
        var stored = Set(cache.keys.filter { $0 >= firstChunk && $0 <= lastChunk })
        if let backing {
            try backing.forEachDataExtent(lba: lba, count: count) { (first: UInt64, end: UInt64) throws(CommandFailure) in
                for index in (first / per)...((end - 1) / per) { stored.insert(index) }
            }
        } else {
            stored.formUnion(durable.keys.filter { $0 >= firstChunk && $0 <= lastChunk })
        }
        return stored.sorted()
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
