import Translation

/// Which way a CDB's data moves. TCMU hands over iovecs without a direction (the kernel fills them
/// before queueing data-out and reads them after completion), so the handler tells from the
/// opcode: the data-out commands of SBC-4 and SPC-5 below, and data-in for any other command that
/// carries data. A data-out command missing here reaches translation as data-in, which refuses
/// every command it does not implement before touching the buffer.
public func transferDirection(cdb: [UInt8], transferLength: Int) -> DataDirection {
    guard transferLength > 0, let opcode = cdb.first else { return .none }
    switch opcode {
    case 0x0A, 0x2A, 0xAA, 0x8A, // WRITE (6), (10), (12), (16)
         0x2E, 0x8E, // WRITE AND VERIFY (10), (16)
         0x2F, 0x8F, // VERIFY (10), (16) with BYTCHK: the data to compare
         0x41, 0x93, // WRITE SAME (10), (16)
         0x42, // UNMAP
         0x15, 0x55, // MODE SELECT (6), (10)
         0x89, // COMPARE AND WRITE
         0x04, 0x1D, 0x3B, 0x4C, 0x5F: // FORMAT UNIT, SEND DIAGNOSTIC, WRITE BUFFER, LOG SELECT, PERSISTENT RESERVE OUT
        return .toDevice
    default:
        return .fromDevice
    }
}
