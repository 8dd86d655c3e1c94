import SeededRandom
import DMAMapper
import PCIDevice
import Testing

@Suite struct IOVAAllocatorTests {
    static let mib = 1 << 20
    static let gib: UInt64 = 1 << 30

    @Test func staysInsideRangesAndNeverCrossesAGap() throws {
        // Two 16 KiB windows with a hole between them.
        let ranges = [IOVARange(first: 0x10_0000, last: 0x10_3FFF), IOVARange(first: 0x20_0000, last: 0x20_3FFF)]
        var allocator = try IOVAAllocator(ranges: ranges, granule: 4096)
        let a = try allocator.allocate(length: 12 * 1024)
        #expect(a == 0x10_0000)
        // 8 KiB no longer fits the 4 KiB left in the first window: it must go to the second whole.
        let b = try allocator.allocate(length: 8 * 1024)
        #expect(b == 0x20_0000)
        let c = try allocator.allocate(length: 4096)
        #expect(c == 0x10_3000)
        let d = try allocator.allocate(length: 8 * 1024)
        #expect(d == 0x20_2000)
        #expect(throws: IOVAAllocatorError.self) { try allocator.allocate(length: 4096) }
    }

    @Test func randomAllocationsStayInsideSeveralRanges() throws {
        // Whole granules already, and none at IOVA 0, so these are the allocator's windows as given.
        let ranges = [
            IOVARange(first: 0x1000, last: 0xFEDF_FFFF),
            IOVARange(first: 0xFEF0_0000, last: 0x1_0000_0FFF),
            IOVARange(first: 0x8_0000_0000, last: 0x8_0FFF_FFFF),
        ]
        let run = try Self.randomRun(ranges: ranges, addressableBits: 64, windows: ranges, seed: 42)
        #expect(run.successes > 500 && run.refusals > 0, "\(run)")
    }

    /// 32 addressable bits over an IOMMU that offers all 64: every IOVA handed out, whatever the
    /// size, alignment and history of frees, ends below 4 GiB (kIOMaximumSegmentAddressableBitCountKey 0x20).
    @Test func thirtyTwoAddressableBitsHoldForRandomAllocations() throws {
        let windows = [IOVARange(first: 0x1000, last: 0xFFFF_FFFF)]   // no IOVA 0 page, below 2^32
        let run = try Self.randomRun(ranges: [IOVARange(first: 0, last: .max)], addressableBits: 32, windows: windows, seed: 7)
        #expect(run.successes > 500 && run.refusals > 0, "\(run)")
    }

    /// 2000 random allocations (up to 2 GiB) and frees. Each allocation must lie in one of `windows`, honour its
    /// alignment and overlap nothing live; each refusal must be `exhausted` and true: no free
    /// stretch of the windows (less the live allocations, in whole granules) could hold it.
    static func randomRun(ranges: [IOVARange], addressableBits: Int, windows: [IOVARange],
                          seed: UInt64) throws -> (successes: Int, refusals: Int) {
        var allocator = try IOVAAllocator(ranges: ranges, addressableBits: addressableBits, granule: 4096)
        var rng = SplitMix64(seed: seed)
        var live: [(iova: UInt64, length: Int)] = []
        var successes = 0, refusals = 0
        for _ in 0..<2000 {
            // Frees a third of the time, so the windows fill and refusals happen too.
            if !live.isEmpty, rng.next() % 3 == 0 {
                let (iova, length) = live.remove(at: Int.random(in: 0..<live.count, using: &rng))
                try allocator.free(iova: iova, length: length)
                continue
            }
            let length = 1 + rng.logUniform(upTo: 1 << 31)
            let alignment = rng.powerOfTwo(0...22)
            do {
                let iova = try allocator.allocate(length: length, alignment: alignment)
                let last = iova + UInt64(length - 1)
                #expect(windows.contains { $0.first <= iova && last <= $0.last }, "0x\(String(iova, radix: 16))+\(length)")
                if addressableBits < 64 { #expect(last < 1 << UInt64(addressableBits)) }
                #expect(iova % UInt64(max(alignment, 4096)) == 0)
                #expect(!live.contains { $0.iova <= last && iova < $0.iova + UInt64($0.length) }, "overlap")
                live.append((iova, length))
                successes += 1
            } catch {
                guard case .exhausted = error else {
                    Issue.record("allocate(length: \(length), alignment: \(alignment)) threw \(error)")
                    continue
                }
                #expect(!fits(length: length, alignment: alignment, windows: windows, live: live),
                        "refused \(length) bytes aligned \(alignment) though a free stretch could hold them")
                refusals += 1
            }
        }
        return (successes, refusals)
    }

    /// Whether some stretch of `windows` not covered by `live` (each rounded up to 4 KiB granules)
    /// holds `length` bytes, rounded up to a granule, at a multiple of the alignment (at least 4 KiB).
    static func fits(length: Int, alignment: Int, windows: [IOVARange], live: [(iova: UInt64, length: Int)]) -> Bool {
        let granule: UInt64 = 4096
        let need = (UInt64(length) + granule - 1) / granule * granule
        let align = UInt64(max(alignment, 4096))
        let taken = live.map { (first: $0.iova, last: $0.iova + (UInt64($0.length) + granule - 1) / granule * granule - 1) }
            .sorted { $0.first < $1.first }
        for window in windows {
            var start = window.first
            for block in taken where block.last >= window.first && block.first <= window.last {
                if block.first > start, fitsBetween(start, block.first - 1, need, align) { return true }
                start = max(start, block.last + 1)
            }
            if start <= window.last, fitsBetween(start, window.last, need, align) { return true }
        }
        return false
    }

    static func fitsBetween(_ first: UInt64, _ last: UInt64, _ need: UInt64, _ align: UInt64) -> Bool {
        let (sum, overflow) = first.addingReportingOverflow(align - 1)
        guard !overflow else { return false }
        let aligned = sum / align * align
        return aligned <= last && last - aligned + 1 >= need
    }

    @Test func thirtyTwoBitLimitKeepsEverythingBelow4GiB() throws {
        var allocator = try IOVAAllocator(ranges: [IOVARange(first: 0, last: .max)], addressableBits: 32)
        var total: UInt64 = 0
        while true {
            do {
                let iova = try allocator.allocate(length: 256 * Self.mib)
                #expect(iova + UInt64(256 * Self.mib) - 1 < 1 << 32)
                total += UInt64(256 * Self.mib)
            } catch {
                // Only running out ends the loop; any other error fails.
                guard case .exhausted = error else { throw error }
                break
            }
        }
        // 4 GiB less the reserved first page, which leaves one 256 MiB block short.
        #expect(total == 15 * 256 * UInt64(Self.mib))
        #expect(allocator.ranges == [IOVARange(first: 0x1000, last: 0xFFFF_FFFF)])
    }

    @Test func rangesAbove4GiBWithA32BitLimitIsAClearError() {
        let ranges = [IOVARange(first: 0x1_0000_0000, last: 0xFFFF_FFFF_FFFF)]
        #expect(throws: IOVAAllocatorError.noUsableRange(ranges: ranges, addressableBits: 32)) {
            try IOVAAllocator(ranges: ranges, addressableBits: 32)
        }
        let message = IOVAAllocatorError.noUsableRange(ranges: ranges, addressableBits: 32).description
        #expect(message.contains("2^32") && message.contains("0x100000000"))
    }

    @Test func alignmentIsHonoured() throws {
        var allocator = try IOVAAllocator(ranges: [IOVARange(first: 0x3000, last: 0xFFF_FFFF)])
        #expect(try allocator.allocate(length: 4096) == 0x3000)
        #expect(try allocator.allocate(length: 100, alignment: 1 << 21) == 0x20_0000)
        #expect(try allocator.allocate(length: 4096, alignment: 64 * 1024) == 0x1_0000)
        // The alignment gap before 0x10000 is still free for small requests.
        #expect(try allocator.allocate(length: 4096) == 0x4000)
        #expect(throws: IOVAAllocatorError.invalidAlignment(3)) { try allocator.allocate(length: 4096, alignment: 3) }
    }

    @Test func exhaustionIsAThrownErrorNamingTheRequest() throws {
        var allocator = try IOVAAllocator(ranges: [IOVARange(first: 0x1000, last: 0x8FFF)])
        _ = try allocator.allocate(length: 4096)
        _ = try allocator.allocate(length: 8192)
        let expected = IOVAAllocatorError.exhausted(length: 32768, alignment: 4096, largestFreeBlock: 20480)
        #expect(throws: expected) { try allocator.allocate(length: 32768) }
        #expect(expected.description.contains("32768") && expected.description.contains("20480"))
    }

    @Test func freeCoalescesSoALargeBlockFitsAgain() throws {
        var allocator = try IOVAAllocator(ranges: [IOVARange(first: 0x1000, last: 0x10FFF)])
        let all = allocator.freeBytes
        let blocks = try (0..<16).map { _ in try allocator.allocate(length: 4096) }
        #expect(throws: IOVAAllocatorError.self) { try allocator.allocate(length: 4096) }
        // Free in a scattered order so merges happen left, right and on both sides.
        for index in [3, 1, 2, 0, 15, 7, 5, 6, 4, 8, 10, 9, 12, 14, 11, 13] {
            try allocator.free(iova: blocks[index], length: 4096)
        }
        #expect(allocator.freeBytes == all)
        #expect(allocator.largestFreeBlock == all)
        #expect(try allocator.allocate(length: 16 * 4096) == 0x1000)
    }

    @Test func badFreesAreRefused() throws {
        var allocator = try IOVAAllocator(ranges: [IOVARange(first: 0x1000, last: 0x10FFF)])
        let iova = try allocator.allocate(length: 8192)
        try allocator.free(iova: iova, length: 8192)
        #expect(throws: IOVAAllocatorError.notAllocated(iova: iova, length: 8192)) { try allocator.free(iova: iova, length: 8192) }
        #expect(throws: IOVAAllocatorError.notAllocated(iova: 0x100_0000, length: 4096)) {
            try allocator.free(iova: 0x100_0000, length: 4096)
        }
        let message = IOVAAllocatorError.notAllocated(iova: iova, length: 8192).description
        #expect(message.contains("0x1000") && message.contains("already freed"))
    }

    @Test func onlyTheWholeLiveAllocationCanBeFreed() throws {
        var allocator = try IOVAAllocator(ranges: [IOVARange(first: 0x1000, last: 0x10_0FFF)])
        let a = try allocator.allocate(length: 4 * 4096)
        let b = try allocator.allocate(length: 5000)
        let freeBefore = allocator.freeBytes
        // A sub-range of a live allocation: its tail, or its head with a shorter length.
        #expect(throws: IOVAAllocatorError.notAllocated(iova: a + 0x2000, length: 0x2000)) {
            try allocator.free(iova: a + 0x2000, length: 0x2000)
        }
        #expect(throws: IOVAAllocatorError.lengthMismatch(iova: a, length: 4096, allocatedLength: 4 * 4096)) {
            try allocator.free(iova: a, length: 4096)
        }
        // A longer length that would swallow the neighbour, and the same granules asked differently.
        #expect(throws: IOVAAllocatorError.lengthMismatch(iova: a, length: 8 * 4096, allocatedLength: 4 * 4096)) {
            try allocator.free(iova: a, length: 8 * 4096)
        }
        #expect(throws: IOVAAllocatorError.lengthMismatch(iova: b, length: 8192, allocatedLength: 5000)) {
            try allocator.free(iova: b, length: 8192)
        }
        #expect(throws: IOVAAllocatorError.self) { try allocator.free(iova: a, length: 0) }
        #expect(throws: IOVAAllocatorError.self) { try allocator.free(iova: a, length: -4096) }
        // None of that changed anything.
        #expect(allocator.freeBytes == freeBefore && allocator.liveAllocationCount == 2)
        let mismatch = IOVAAllocatorError.lengthMismatch(iova: a, length: 4096, allocatedLength: 16384).description
        #expect(mismatch.contains("16384") && mismatch.contains("the length it was allocated with"))
        try allocator.free(iova: a, length: 4 * 4096)
        try allocator.free(iova: b, length: 5000)
        #expect(allocator.liveAllocationCount == 0 && allocator.largestFreeBlock == allocator.freeBytes)
    }

    @Test func iovaZeroAndTheTopOfTheSpace() throws {
        var allocator = try IOVAAllocator(ranges: [IOVARange(first: 0, last: 0x1FFF), IOVARange(first: .max - 0x1FFF, last: .max)])
        #expect(try allocator.allocate(length: 4096) == 0x1000)
        let top = try allocator.allocate(length: 8192)
        #expect(top == UInt64.max - 0x1FFF)
        try allocator.free(iova: top, length: 8192)
        #expect(try allocator.allocate(length: 8192) == top)
    }
}
