/// One NVMe Read or Write that a READ/WRITE CDB turns into, and nothing else.
public struct BlockTransfer: Sendable, Equatable {
    /// Write (data-out) rather than Read.
    public var isWrite: Bool
    /// Namespace of the LUN.
    public var nsid: UInt32
    /// First logical block.
    public var lba: UInt64
    /// Number of blocks, never 0 (the engine splits by MDTS and its segment limits).
    public var blocks: UInt32
    /// Force Unit Access, from the CDB's FUA bit.
    public var fua: Bool

    /// A transfer of `blocks` blocks from `lba` of namespace `nsid`.
    public init(isWrite: Bool, nsid: UInt32, lba: UInt64, blocks: UInt32, fua: Bool) {
        self.isWrite = isWrite
        self.nsid = nsid
        self.lba = lba
        self.blocks = blocks
        self.fua = fua
    }

    /// The same transfer as the general path's operation, for engines that mix both.
    public var operation: NVMeOperation {
        isWrite ? .write(nsid: nsid, lba: lba, blocks: blocks, fua: fua, bufferOffset: 0)
            : .read(nsid: nsid, lba: lba, blocks: blocks, fua: fua, bufferOffset: 0)
    }
}

/// The hot path: READ/WRITE (6, 10, 12, 16) that need exactly one NVMe Read/Write, recognised
/// without allocating, retaining arrays or building a plan. Returns nil whenever anything else
/// has to happen (an error to report, a unit attention, a stopped unit, a zero-length transfer,
/// another command): the caller then uses `translate`, which gives the same operation for every
/// CDB this accepts (a property the tests check). On success the response is GOOD with no
/// residual; on an NVMe error, `complete(CompletionContext.blockTransfer(transferLength:), ...)`.
public func translateBlockTransfer(cdb: UnsafeRawBufferPointer, lun: UInt64, transferLength: Int,
                                   direction: DataDirection, facts: borrowing DeviceFacts,
                                   state: borrowing LogicalUnitState) -> BlockTransfer? {
    guard !state.needsAttention else { return nil }
    return translateBlockTransfer(cdb: cdb, lun: lun, transferLength: transferLength, direction: direction,
                                  luns: facts.luns, maximumTransferBytes: facts.maximumTransferBytes)
}

/// `translateBlockTransfer` for a caller that knows the unit has nothing to report and is
/// started (`LogicalUnitState.needsAttention` is false), as an engine's lock-free check tells it.
/// It takes the two `DeviceFacts` fields it reads (`luns`, `maximumTransferBytes`): a caller
/// holding the facts in a class would otherwise copy all of them to pass them.
public func translateBlockTransfer(cdb: UnsafeRawBufferPointer, lun: UInt64, transferLength: Int, direction: DataDirection,
                                   luns: [LogicalUnit], maximumTransferBytes: Int) -> BlockTransfer? {
    guard cdb.count >= 6, lun < UInt64(luns.count) else { return nil }
    let opcode = cdb[0]
    let isWrite: Bool
    let lba: UInt64, blocks: UInt32, fua: Bool
    func be(_ offset: Int, _ count: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in offset..<(offset + count) { value = value << 8 | UInt64(cdb[index]) }
        return value
    }
    // Each case checks the length, the reserved bits (the command table's usage masks) and CONTROL.
    switch opcode {
    case Opcode.read6, Opcode.write6:
        guard cdb.count == 6, cdb[1] & 0xE0 == 0, cdb[5] == 0 else { return nil }
        isWrite = opcode == Opcode.write6
        lba = be(1, 3) & 0x1F_FFFF
        blocks = cdb[4] == 0 ? 256 : UInt32(cdb[4])
        fua = false
    case Opcode.read10, Opcode.write10:
        guard cdb.count == 10, cdb[1] & ~0x18 == 0, cdb[6] & ~0x3F == 0, cdb[9] == 0 else { return nil }
        isWrite = opcode == Opcode.write10
        lba = be(2, 4)
        blocks = UInt32(be(7, 2))
        fua = cdb[1] & 0x08 != 0
    case Opcode.read12, Opcode.write12:
        guard cdb.count == 12, cdb[1] & ~0x18 == 0, cdb[10] & ~0x3F == 0, cdb[11] == 0 else { return nil }
        isWrite = opcode == Opcode.write12
        lba = be(2, 4)
        blocks = UInt32(be(6, 4))
        fua = cdb[1] & 0x08 != 0
    case Opcode.read16, Opcode.write16:
        guard cdb.count == 16, cdb[1] & ~0x18 == 0, cdb[14] & ~0x3F == 0, cdb[15] == 0 else { return nil }
        isWrite = opcode == Opcode.write16
        lba = be(2, 8)
        blocks = UInt32(be(10, 4))
        fua = cdb[1] & 0x08 != 0
    default:
        return nil
    }
    // Field by field rather than copying the LogicalUnit, whose Identify data holds arrays.
    let index = Int(lun)
    let capacity = luns[index].blockCount
    guard blocks > 0, lba < capacity, UInt64(blocks) <= capacity - lba,
          Int(blocks) * luns[index].blockSize == transferLength,
          maximumTransferBytes == 0 || transferLength <= maximumTransferBytes,
          direction == (isWrite ? .toDevice : .fromDevice) else { return nil }
    return BlockTransfer(isWrite: isWrite, nsid: luns[index].nsid, lba: lba, blocks: blocks, fua: fua)
}

extension CompletionContext {
    /// The context of a `BlockTransfer`, for mapping its NVMe status with `complete`.
    public static func blockTransfer(transferLength: Int) -> CompletionContext {
        CompletionContext(operationCount: 1, transferLength: transferLength)
    }
}
