import NVMe

/// WRITE SAME (10) and (16) (SBC-4 5.50, 5.51; Reference "WRITE SAME").
///
/// The data must read back as the block sent, so deallocation is used only when it is known to
/// read back zeros and the block is zeros: UNMAP=1 with a zero block becomes Dataset Management
/// when DLFEAT says deallocated blocks read zero, else Write Zeroes with DEAC (the controller
/// deallocates only where it can keep that promise). A zero block without UNMAP is Write Zeroes;
/// any other block is written over the range. The UNMAP bit needs deallocation and NDOB needs
/// Write Zeroes; the usage data (`CommandDescriptor.usage(for:)`) refuses them otherwise.
enum WriteSame {
    static func translate(_ request: Request) throws(SenseCondition) -> TranslationPlan {
        let cdb = request.cdb
        let short = cdb.count == 10
        let lba = short ? UInt64(cdb.be32(at: 2)) : cdb.be64(at: 2)
        let blocks = short ? UInt32(cdb.be16(at: 7)) : cdb.be32(at: 10)
        let unmap = cdb[1] & 0x08 != 0
        let noDataOut = !short && cdb[1] & 0x01 != 0
        let facts = request.facts, unit = request.lu

        // WSNZ is set in Block Limits: zero blocks ("to the end of the medium") is refused.
        if blocks == 0 { throw request.invalidLength }
        try request.checkRange(lba: lba, blocks: UInt64(blocks))
        let blockSize = unit.blockSize
        try request.expectData(noDataOut ? 0 : blockSize, .toDevice)

        let zeroBlock: Bool
        if noDataOut {
            zeroBlock = true
        } else if let data = request.dataOut, data.count >= blockSize {
            zeroBlock = data[0..<blockSize].allSatisfy { $0 == 0 }
        } else {
            zeroBlock = false   // not shown the block: write it as it is, always correct
        }
        let nsid = unit.nsid
        if zeroBlock {
            // The zero block was read here and no command moves it: it counts as transferred.
            let consumed = noDataOut ? 0 : blockSize
            if unmap, facts.supportsDeallocate, unit.namespace.deallocatedBlocksReadZero {
                return request.execute([.deallocate(nsid: nsid, ranges: Unmap.ranges(lba: lba, blocks: UInt64(blocks), facts: facts))],
                                       consumed: consumed)
            }
            if facts.supportsWriteZeroes {
                return request.execute([.writeZeroes(nsid: nsid, lba: lba, blocks: blocks, deallocate: unmap)], consumed: consumed)
            }
        }
        return request.execute([.writeRepeatingBlock(nsid: nsid, lba: lba, blocks: blocks, sourceOffset: 0)])
    }
}
