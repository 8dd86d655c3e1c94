/// The data phase a CDB itself describes (SBC-4, SPC-5): which way its data moves and how many
/// bytes its own fields ask for. A transport may carry the data without a direction, or sized by
/// a length of its own: TCMU hands over iovecs without a direction, sized to the initiator's
/// expected transfer length (iSCSI's EDTL), which SAM-5 lets differ from the CDB's. An engine in
/// that position sizes the task's buffer from this, so the CDB, not the transport, decides what
/// the command moves, and compares the two lengths to report the residual.
public struct DataPhase: Sendable, Equatable {
    /// Which way the data moves; `.none` when the CDB moves no data.
    public var direction: DataDirection
    /// Bytes the CDB asks to move: TRANSFER LENGTH x block size, the ALLOCATION LENGTH or the
    /// PARAMETER LIST LENGTH. Nil when this layer does not carry the command out, or cannot tell
    /// for this LUN: translation then refuses the command before it touches any buffer.
    public var length: Int?
    /// The data-out is the logical blocks the command writes (WRITE, WRITE AND VERIFY, COMPARE
    /// AND WRITE: LIO's write data CDBs), rather than a parameter list; true even when the CDB
    /// names 0 blocks. A transport that delivers such a command's data-out at another length than
    /// the CDB's has lost track of what it writes.
    public var writesBlocks: Bool

    /// A data phase of `length` bytes in `direction`.
    public init(direction: DataDirection, length: Int?, writesBlocks: Bool = false) {
        self.direction = direction
        self.length = length
        self.writesBlocks = writesBlocks
    }
}

/// The data phase `cdb` describes for logical unit `lun`: the direction from `transferDirection`
/// and the length from the command's own fields, read as the command's handler reads them (a
/// test checks that a buffer of this length in this direction is never refused for its size).
public func dataPhase(cdb: [UInt8], lun: UInt64, facts: borrowing DeviceFacts) -> DataPhase {
    let descriptor = CommandTable.lookup(cdb)
    let length = descriptor.flatMap { dataLength(cdb: cdb, descriptor: $0, lun: lun, facts: facts) }
    let blocks: Bool
    switch descriptor?.kind {
    case .write, .writeAndVerify, .compareAndWrite: blocks = true
    default: blocks = false
    }
    return DataPhase(direction: transferDirection(cdb: cdb, transferLength: length ?? 1), length: length, writesBlocks: blocks)
}

/// Which way a CDB's data moves when `transferLength` bytes move: the data-out commands of
/// SBC-4 and SPC-5 below, data-in for any other command that carries data, `.none` when nothing
/// moves. Commands this layer does not carry out are listed too, so a transport that needs a
/// direction for every command (TCMU's iovecs have none) gets it from one table; a data-out
/// command missing here reaches translation as data-in, which refuses every command it does not
/// implement before touching the buffer.
public func transferDirection(cdb: [UInt8], transferLength: Int) -> DataDirection {
    guard transferLength > 0, let opcode = cdb.first else { return .none }
    switch opcode {
    case 0x0A, 0x2A, 0xAA, 0x8A, // WRITE (6), (10), (12), (16)
         0x2E, 0xAE, 0x8E, // WRITE AND VERIFY (10), (12), (16)
         0x2F, 0xAF, 0x8F, // VERIFY (10), (12), (16) with BYTCHK: the data to compare
         0x41, 0x93, // WRITE SAME (10), (16)
         0x42, // UNMAP
         0x15, 0x55, // MODE SELECT (6), (10)
         0x89, 0x8B, 0x9C, // COMPARE AND WRITE, ORWRITE (16), WRITE ATOMIC (16)
         0x04, 0x1D, 0x3B, 0x4C, 0x5F: // FORMAT UNIT, SEND DIAGNOSTIC, WRITE BUFFER, LOG SELECT, PERSISTENT RESERVE OUT
        return .toDevice
    default:
        return .fromDevice
    }
}

/// Bytes the CDB's fields ask to move, for a command of the command table; nil for a CDB of the
/// wrong length for its opcode, or a block command to a LUN that does not exist.
private func dataLength(cdb: [UInt8], descriptor: CommandDescriptor, lun: UInt64, facts: borrowing DeviceFacts) -> Int? {
    guard cdb.count == descriptor.length else { return nil }
    let blockSize: Int? = lun < UInt64(facts.luns.count) ? facts.luns[Int(lun)].blockSize : nil
    let short = cdb.count == 6
    switch descriptor.kind {
    case .testUnitReady, .startStopUnit, .synchronizeCache: return 0
    case .read, .write, .writeAndVerify:
        return blockSize.map { Int(ReadWrite.fields(cdb).blocks) * $0 }
    case .verify:
        // BYTCHK (SBC-4 5.29): 00b sends nothing, 01b the blocks to compare, 11b one block.
        guard let blockSize else { return nil }
        switch (cdb[1] >> 1) & 0x03 {
        case 0: return 0
        case 3: return blockSize
        default: return Int(ReadWrite.fields(cdb).blocks) * blockSize
        }
    case .writeSame:
        // NDOB (WRITE SAME (16) byte 1 bit 0): no data-out buffer; else one block.
        if cdb.count == 16, cdb[1] & 0x01 != 0 { return 0 }
        return blockSize
    case .compareAndWrite:
        // The verify data, then the write data: twice NUMBER OF LOGICAL BLOCKS (SBC-4 5.3).
        return blockSize.map { 2 * Int(cdb[13]) * $0 }
    case .unmap: return Int(cdb.be16(at: 7))
    case .modeSelect, .modeSense: return short ? Int(cdb[4]) : Int(cdb.be16(at: 7))
    case .inquiry: return Int(cdb.be16(at: 3))
    case .requestSense: return Int(cdb[4])
    case .readCapacity10: return 8
    case .readCapacity16: return Int(cdb.be32(at: 10))
    case .reportLUNs, .reportSupportedOperationCodes: return Int(cdb.be32(at: 6))
    }
}
