import SeededRandom

/// The volatile write cache model on top of `NamespaceStorage`: written blocks stay in `cache`
/// until a Flush, a FUA write or a normal shutdown makes them durable; a power cut throws away
/// what is still cached, except a seeded random share (`survivingFraction`) for torn caches.
extension NamespaceStorage {
    /// Makes every cached block durable (Flush, shutdown, disabling the cache). A backing file is
    /// then synced, so earlier durable writes (FUA, cache disabled) reach the disk too. A chunk
    /// leaves the cache only once written, so a failing file keeps what it could not take.
    mutating func persistCache() throws(CommandFailure) {
        for index in cache.keys.sorted() {
            guard let entry = cache[index] else { continue }
            try persist(entry, at: index) { _ in true }
            cache[index] = nil
        }
        try backing?.sync()
    }

    /// Drops the cache after keeping each dirty block with probability `survivingFraction`.
    /// Chunks are visited in LBA order, so one seed always tears the same blocks.
    /// The cache is gone even when writing a survivor to a backing file fails (that is thrown
    /// after the whole cache was visited, for the caller to report).
    mutating func losePower(survivingFraction: Double, random: inout SplitMix64) throws(CommandFailure) {
        defer { cache.removeAll() }
        var failure: CommandFailure?
        if survivingFraction > 0 {
            for index in cache.keys.sorted() {
                guard let entry = cache[index] else { continue }
                do throws(CommandFailure) {
                    try persist(entry, at: index) { _ in random.nextDouble() < survivingFraction }
                } catch {
                    failure = failure ?? error
                }
            }
        }
        if let failure { throw failure }
    }

    /// Number of blocks that are written but not yet durable.
    var dirtyBlockCount: Int { cache.values.reduce(0) { $0 + $1.dirty.nonzeroBitCount } }

    private mutating func persist(_ entry: CachedChunk, at index: UInt64, keep: (Int) -> Bool) throws(CommandFailure) {
        var mask = entry.dirty
        if let backing {
            // One pwrite per run of consecutive kept blocks: the chunk holds them contiguously.
            var kept: UInt64 = 0
            while mask != 0 {
                let slot = mask.trailingZeroBitCount
                mask &= mask - 1
                if keep(slot) { kept |= 1 << UInt64(slot) }
            }
            while kept != 0 {
                let first = kept.trailingZeroBitCount
                let run = (~(kept >> UInt64(first))).trailingZeroBitCount
                let lba = index * UInt64(Self.blocksPerChunk) + UInt64(first)
                try backing.write(lba, from: entry.chunk.bytes + first * blockSize, blocks: run)
                kept &= run == 64 ? 0 : ~(((1 << UInt64(run)) - 1) << UInt64(first))
            }
            return
        }
        while mask != 0 {
            let slot = mask.trailingZeroBitCount
            mask &= mask - 1
            guard keep(slot) else { continue }
            let chunk = durableChunk(index)
            (chunk.bytes + slot * blockSize).copyMemory(from: entry.chunk.bytes + slot * blockSize, byteCount: blockSize)
        }
    }
}
