// Shared by the test targets (they cannot depend on one another): CDBs laid out by hand from
// SBC-4 and SPC-5, never produced by the code under test.

/// Big-endian bytes of `value`, `count` bytes wide.
public func be(_ value: UInt64, _ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * (count - 1 - $0))) }
}

/// CDBs laid out by hand from SBC-4 / SPC-5 (field offsets in the comments).
public enum CDB {
    public static let testUnitReady: [UInt8] = [0x00, 0, 0, 0, 0, 0]

    /// The CDB length an opcode's group code (bits 7-5) implies (SPC-5, OPERATION CODE): 000b 6 bytes,
    /// 001b and 010b 10, 100b 16, 101b 12; nil for the reserved, variable-length and
    /// vendor-specific groups.
    public static func groupLength(_ opcode: UInt8) -> Int? {
        switch opcode >> 5 {
        case 0: 6
        case 1, 2: 10
        case 4: 16
        case 5: 12
        default: nil
        }
    }

    /// REQUEST SENSE: byte 1 bit 0 DESC, byte 4 ALLOCATION LENGTH.
    public static func requestSense(desc: Bool = false, allocation: UInt8 = 252) -> [UInt8] {
        [0x03, desc ? 1 : 0, 0, 0, allocation, 0]
    }
    /// INQUIRY: byte 1 bit 0 EVPD, byte 2 PAGE CODE, bytes 3-4 ALLOCATION LENGTH.
    public static func inquiry(page: UInt8? = nil, allocation: UInt16) -> [UInt8] {
        [0x12, page == nil ? 0 : 1, page ?? 0] + be(UInt64(allocation), 2) + [0]
    }
    public static let readCapacity10: [UInt8] = [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    /// READ CAPACITY (16): SERVICE ACTION IN (16) 9Eh / 10h, ALLOCATION LENGTH in bytes 10-13.
    public static func readCapacity16(allocation: UInt32 = 32) -> [UInt8] {
        [0x9E, 0x10] + [UInt8](repeating: 0, count: 8) + be(UInt64(allocation), 4) + [0, 0]
    }

    /// READ(6)/WRITE(6): 21-bit LBA in byte 1 bits 4-0 and bytes 2-3, TRANSFER LENGTH in byte 4.
    public static func read6(lba: UInt32, blocks: UInt8) -> [UInt8] { rw6(0x08, lba, blocks) }
    public static func write6(lba: UInt32, blocks: UInt8) -> [UInt8] { rw6(0x0A, lba, blocks) }
    private static func rw6(_ op: UInt8, _ lba: UInt32, _ blocks: UInt8) -> [UInt8] {
        [op, UInt8((lba >> 16) & 0x1F), UInt8((lba >> 8) & 0xFF), UInt8(lba & 0xFF), blocks, 0]
    }
    /// 10-byte block commands: byte 1 flags (DPO bit 4, FUA bit 3, BYTCHK bits 2-1), LBA bytes 2-5,
    /// GROUP byte 6, TRANSFER LENGTH bytes 7-8, CONTROL byte 9.
    public static func ten(_ op: UInt8, flags: UInt8 = 0, lba: UInt32, blocks: UInt16) -> [UInt8] {
        [op, flags] + be(UInt64(lba), 4) + [0] + be(UInt64(blocks), 2) + [0]
    }
    /// 12-byte: LBA bytes 2-5, TRANSFER LENGTH bytes 6-9, GROUP 10, CONTROL 11.
    public static func twelve(_ op: UInt8, flags: UInt8 = 0, lba: UInt32, blocks: UInt32) -> [UInt8] {
        [op, flags] + be(UInt64(lba), 4) + be(UInt64(blocks), 4) + [0, 0]
    }
    /// 16-byte: LBA bytes 2-9, TRANSFER LENGTH bytes 10-13, GROUP 14, CONTROL 15.
    public static func sixteen(_ op: UInt8, flags: UInt8 = 0, lba: UInt64, blocks: UInt32) -> [UInt8] {
        [op, flags] + be(lba, 8) + be(UInt64(blocks), 4) + [0, 0]
    }
    public static func read10(lba: UInt32, blocks: UInt16, flags: UInt8 = 0) -> [UInt8] { ten(0x28, flags: flags, lba: lba, blocks: blocks) }
    public static func write10(lba: UInt32, blocks: UInt16, flags: UInt8 = 0) -> [UInt8] { ten(0x2A, flags: flags, lba: lba, blocks: blocks) }
    public static func read12(lba: UInt32, blocks: UInt32, flags: UInt8 = 0) -> [UInt8] { twelve(0xA8, flags: flags, lba: lba, blocks: blocks) }
    public static func write12(lba: UInt32, blocks: UInt32, flags: UInt8 = 0) -> [UInt8] { twelve(0xAA, flags: flags, lba: lba, blocks: blocks) }
    public static func read16(lba: UInt64, blocks: UInt32, flags: UInt8 = 0) -> [UInt8] { sixteen(0x88, flags: flags, lba: lba, blocks: blocks) }
    public static func write16(lba: UInt64, blocks: UInt32, fua: Bool = false, flags: UInt8 = 0) -> [UInt8] {
        sixteen(0x8A, flags: flags | (fua ? 0x08 : 0), lba: lba, blocks: blocks)
    }

    /// SYNCHRONIZE CACHE (10) 35h / (16) 91h: LBA and NUMBER OF LOGICAL BLOCKS (0 = to the end).
    public static func synchronizeCache10(lba: UInt32 = 0, blocks: UInt16 = 0) -> [UInt8] { ten(0x35, lba: lba, blocks: blocks) }
    public static func synchronizeCache16(lba: UInt64 = 0, blocks: UInt32 = 0) -> [UInt8] { sixteen(0x91, lba: lba, blocks: blocks) }

    /// START STOP UNIT: byte 4 POWER CONDITION bits 7-4, NO_FLUSH bit 2, LOEJ bit 1, START bit 0.
    public static func startStopUnit(start: Bool, noFlush: Bool = false) -> [UInt8] {
        [0x1B, 0, 0, 0, (start ? 0x01 : 0) | (noFlush ? 0x04 : 0), 0]
    }

    /// MODE SENSE (6): byte 1 DBD bit 3, byte 2 PC bits 7-6 + PAGE CODE, byte 3 SUBPAGE, byte 4 ALLOCATION LENGTH.
    public static func modeSense6(page: UInt8, pc: UInt8 = 0, dbd: Bool = false, allocation: UInt8 = 255) -> [UInt8] {
        [0x1A, dbd ? 0x08 : 0, pc << 6 | page, 0, allocation, 0]
    }
    /// MODE SENSE (10): byte 1 LLBAA bit 4, DBD bit 3; ALLOCATION LENGTH bytes 7-8.
    public static func modeSense10(page: UInt8, pc: UInt8 = 0, dbd: Bool = false, llbaa: Bool = false,
                            allocation: UInt16 = 1024) -> [UInt8] {
        [0x5A, (dbd ? 0x08 : 0) | (llbaa ? 0x10 : 0), pc << 6 | page, 0, 0, 0, 0] + be(UInt64(allocation), 2) + [0]
    }
    /// MODE SELECT (6): byte 1 PF bit 4, SP bit 0; byte 4 PARAMETER LIST LENGTH.
    public static func modeSelect6(length: UInt8, pf: Bool = true) -> [UInt8] { [0x15, pf ? 0x10 : 0, 0, 0, length, 0] }
    /// MODE SELECT (10): PARAMETER LIST LENGTH bytes 7-8.
    public static func modeSelect10(length: UInt16) -> [UInt8] { [0x55, 0x10, 0, 0, 0, 0, 0] + be(UInt64(length), 2) + [0] }

    /// UNMAP: PARAMETER LIST LENGTH bytes 7-8.
    public static func unmap(length: UInt16) -> [UInt8] { [0x42, 0, 0, 0, 0, 0, 0] + be(UInt64(length), 2) + [0] }
    /// WRITE SAME (10) 41h: byte 1 UNMAP bit 3; NUMBER OF LOGICAL BLOCKS bytes 7-8.
    public static func writeSame10(lba: UInt32, blocks: UInt16, unmap: Bool = false) -> [UInt8] {
        ten(0x41, flags: unmap ? 0x08 : 0, lba: lba, blocks: blocks)
    }
    /// WRITE SAME (16) 93h: byte 1 UNMAP bit 3, NDOB bit 0; NUMBER OF LOGICAL BLOCKS bytes 10-13.
    public static func writeSame16(lba: UInt64, blocks: UInt32, unmap: Bool = false, ndob: Bool = false) -> [UInt8] {
        sixteen(0x93, flags: (unmap ? 0x08 : 0) | (ndob ? 0x01 : 0), lba: lba, blocks: blocks)
    }
    /// COMPARE AND WRITE 89h: LBA bytes 2-9, NUMBER OF LOGICAL BLOCKS byte 13.
    public static func compareAndWrite(lba: UInt64, blocks: UInt8, fua: Bool = false) -> [UInt8] {
        [0x89, fua ? 0x08 : 0] + be(lba, 8) + [0, 0, 0, blocks, 0, 0]
    }
    /// REPORT LUNS A0h: SELECT REPORT byte 2, ALLOCATION LENGTH bytes 6-9.
    public static func reportLUNs(select: UInt8 = 0, allocation: UInt32 = 4096) -> [UInt8] {
        [0xA0, 0, select, 0, 0, 0] + be(UInt64(allocation), 4) + [0, 0]
    }
    /// REPORT SUPPORTED OPERATION CODES A3h/0Ch: byte 2 RCTD bit 7 + REPORTING OPTIONS bits 2-0,
    /// byte 3 REQUESTED OPERATION CODE, bytes 4-5 REQUESTED SERVICE ACTION, ALLOCATION LENGTH 6-9.
    public static func reportSupportedOperationCodes(options: UInt8, opcode: UInt8 = 0, serviceAction: UInt16 = 0,
                                              allocation: UInt32 = 4096) -> [UInt8] {
        [0xA3, 0x0C, options, opcode] + be(UInt64(serviceAction), 2) + be(UInt64(allocation), 4) + [0, 0]
    }
}
