/// READ CAPACITY (10) and (16) (SBC-4 5.20, 5.21).
enum ReadCapacity {
    /// 8 bytes: RETURNED LOGICAL BLOCK ADDRESS (the last LBA, FFFFFFFFh when it does not fit) and
    /// the block length.
    static func capacity10(_ request: Request) throws(SenseCondition) -> TranslationPlan {
        let unit = request.lu
        var data = [UInt8](repeating: 0, count: 8)
        let last = lastLBA(unit)
        data.storeBE(last >= 0xFFFF_FFFF ? UInt32.max : UInt32(last), at: 0)
        data.storeBE(UInt32(unit.blockSize), at: 4)
        return request.data(data, allocationLength: 8)
    }

    /// 32 bytes: the last LBA, block length, LBPME when blocks can be deallocated and LBPRZ when
    /// deallocated blocks read as zeros (only with LBPME, as VPD B2h says: SBC-4 4.7).
    static func capacity16(_ request: Request) throws(SenseCondition) -> TranslationPlan {
        let unit = request.lu
        var data = [UInt8](repeating: 0, count: 32)
        data.storeBE(lastLBA(unit), at: 0)
        data.storeBE(UInt32(unit.blockSize), at: 8)
        if request.facts.supportsDeallocate {
            data[14] = 0x80 | (unit.namespace.deallocatedBlocksReadZero ? 0x40 : 0)
        }
        return request.data(data, allocationLength: Int(request.cdb.be32(at: 10)))
    }

    /// The last LBA; an empty namespace reports 0 (there is no better value and SBC has none).
    static func lastLBA(_ unit: LogicalUnit) -> UInt64 { unit.blockCount == 0 ? 0 : unit.blockCount - 1 }
}
