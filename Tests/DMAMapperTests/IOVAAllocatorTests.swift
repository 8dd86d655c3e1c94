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
        let ranges = [
            IOVARange(first: 0x1000, last: 0xFEDF_FFFF),
            IOVARange(first: 0xFEF0_0000, last: 0x1_0000_0FFF),
            IOVARange(first: 0x8_0000_0000, last: 0x8_0FFF_FFFF),
        ]
        var allocator = try IOVAAllocator(ranges: ranges, granule: 4096)
        var rng = SplitMix64(seed: 42)
        var live: [(UInt64, Int)] = []
        for _ in 0..<2000 {
            if !live.isEmpty, Bool.random(using: &rng) {
                let (iova, length) = live.remove(at: Int.random(in: 0..<live.count, using: &rng))
                try allocator.free(iova: iova, length: length)
                continue
            }
            let length = 1 + rng.logUniform(upTo: 256 << 20)
            let alignment = rng.powerOfTwo(0...22)
            guard let iova = try? allocator.allocate(length: length, alignment: alignment) else { continue }
            let last = iova + UInt64(length - 1)
            #expect(ranges.contains { $0.first <= iova && last <= $0.last }, "0x\(String(iova, radix: 16))+\(length)")
            #expect(iova % UInt64(max(alignment, 4096)) == 0)
            #expect(!live.contains { $0.0 <= last && iova < $0.0 + UInt64($0.1) }, "overlap")
            live.append((iova, length))
        }
    }

    @Test func thirtyTwoBitLimitKeepsEverythingBelow4GiB() throws {
        var allocator = try IOVAAllocator(ranges: [IOVARange(first: 0, last: .max)], addressableBits: 32)
        var total: UInt64 = 0
        while let iova = try? allocator.allocate(length: 256 * Self.mib) {
            #expect(iova + UInt64(256 * Self.mib) - 1 < 1 << 32)
            total += UInt64(256 * Self.mib)
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
