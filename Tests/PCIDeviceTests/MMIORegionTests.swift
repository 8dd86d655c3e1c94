import Testing
@testable import PCIDevice

/// Register access on anonymous memory shaped like a BAR: volatile loads and stores in range,
/// and every out-of-range or misaligned offset refused without touching memory.
@Suite struct MMIORegionTests {
    @Test func loadsAndStoresInRange() throws {
        let region = try MMIORegion(anonymousSize: 4096)
        #expect(region.size == 4096)
        #expect(region.load32(at: 0) == 0)
        region.store32(0xdead_beef, at: 0x14)
        region.store64(0x0123_4567_89ab_cdef, at: 0x28)
        #expect(region.load32(at: 0x14) == 0xdead_beef)
        #expect(region.load64(at: 0x28) == 0x0123_4567_89ab_cdef)
        #expect(region.load32(at: 0x28) == 0x89ab_cdef) // little-endian halves, as NVMe registers
        #expect(region.load32(at: 0x2c) == 0x0123_4567)
        #expect(region.base.load(fromByteOffset: 0x14, as: UInt32.self) == 0xdead_beef)
        // The last whole register of each width is in range.
        region.store32(7, at: 4092)
        region.store64(9, at: 4088 - 8)
        #expect(region.load32(at: 4092) == 7 && region.load64(at: 4080) == 9)
        #expect(region.rejectedReadCount == 0 && region.droppedWriteCount == 0 && region.lastRejectedOffset == nil)
    }

    /// Offsets a hostile CAP.DSTRD or a bug could produce: past the end, straddling it, negative,
    /// misaligned, and far away.
    static let badOffsets32 = [4096, 4094, 4093, -4, -1, 2, 0x1001, Int.max, Int.min, 1 << 40]
    static let badOffsets64 = [4096, 4092, 4089, -8, 4, 0x1004, Int.max - 7, Int.min]

    /// A doorbell's direct address: the register itself for an aligned offset inside the region
    /// (a store through it is what `load32` reads back), nil for every offset `store32` would drop.
    @Test func directAddressesOnlyInsideTheRegion() throws {
        let region = try MMIORegion(anonymousSize: 4096)
        let doorbell = try #require(region.address32(at: 0x1000 - 4))
        doorbell.storeBytes(of: 0x55, as: UInt32.self)
        #expect(region.load32(at: 0x1000 - 4) == 0x55)
        #expect(region.address32(at: 0) == region.base)
        for offset in Self.badOffsets32 { #expect(region.address32(at: offset) == nil, "offset \(offset)") }
    }

    @Test func outOfRangeReadsReturnAllOnesLikeAVanishedDevice() throws {
        let region = try MMIORegion(anonymousSize: 4096)
        for offset in Self.badOffsets32 {
            #expect(region.load32(at: offset) == 0xFFFF_FFFF, "32-bit read at \(offset)")
        }
        for offset in Self.badOffsets64 {
            #expect(region.load64(at: offset) == .max, "64-bit read at \(offset)")
        }
        #expect(region.rejectedReadCount == Self.badOffsets32.count + Self.badOffsets64.count)
        #expect(region.lastRejectedOffset == Int.min)
        #expect(region.droppedWriteCount == 0)
    }

    @Test func outOfRangeWritesAreDroppedAndCounted() throws {
        // Without the check these would fault on or scribble over whatever follows the mapping.
        let region = try MMIORegion(anonymousSize: 4096)
        for offset in Self.badOffsets32 { region.store32(0xA5A5_A5A5, at: offset) }
        for offset in Self.badOffsets64 { region.store64(.max, at: offset) }
        #expect(region.droppedWriteCount == Self.badOffsets32.count + Self.badOffsets64.count)
        #expect(region.lastRejectedOffset == Int.min)
        #expect(UnsafeRawBufferPointer(start: region.base, count: 4096).allSatisfy { $0 == 0 },
                "a misaligned in-range write must not land either")
    }

    @Test func oddSizedRegionsKeepOnlyWholeRegisters() throws {
        let region = try MMIORegion(anonymousSize: 4100)
        region.store32(1, at: 4096)
        #expect(region.load32(at: 4096) == 1)
        #expect(region.load64(at: 4096) == .max, "bytes 4096-4103 run past 4100")
        #expect(region.load64(at: 4088) == 0)
    }

    @Test func aRegionTooSmallForOneRegisterIsRefused() {
        #expect(throws: PCIDeviceError.self) { try MMIORegion(anonymousSize: 4) }
        #expect(throws: PCIDeviceError.self) { try MMIORegion(anonymousSize: -4096) }
    }
}
