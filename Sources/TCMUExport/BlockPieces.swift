import Translation

/// A READ, WRITE or WRITE AND VERIFY whose data is larger than the worker's DMA buffer, run as
/// consecutive pieces that each fit it: the export announces (VPD B0h MAXIMUM TRANSFER LENGTH)
/// what the engine and the ring can carry, not the buffer's size, so that a command of any size
/// up to that succeeds, as SBC-4 6.6.4 asks of every transfer within the announced length.
///
/// Each piece is the 16-byte form of the command (READ (16), WRITE (16), WRITE AND VERIFY (16),
/// SBC-4 5.16, 5.42, 5.46) over the next blocks, with the original's flags (DPO, FUA, BYTCHK),
/// group number and control byte, so the translation checks and runs each piece as it would the
/// whole; the 16-byte form holds any LBA the 10- and 12-byte ones reach.
///
/// Only a command the translation would run in full is split: one in range, with no bit set
/// outside the fields it accepts, whose iovecs hold exactly its blocks and whose length is
/// within the announced limit. Any other goes to the translation whole, which refuses it in the
/// order SAM-5 asks (unit attention, CDB fields, range, then the transfer length) before any
/// block moves. A split command's first piece reports a pending unit attention before anything
/// moved; a piece that fails ends the command with that piece's status and sense, the blocks of
/// the pieces before it written (or read) as for any command that fails part way (SBC-4 4.14).
struct BlockPieces: Sendable, Equatable {
    /// The pieces' opcode (the 16-byte form).
    var opcode: UInt8
    /// The original's byte 1 (protection, DPO, FUA, BYTCHK), group number and control byte.
    var flags: UInt8, group: UInt8, control: UInt8
    /// Data-in (READ) or data-out.
    var direction: DataDirection
    /// The command's first block, blocks and block size.
    var lba: UInt64, blocks: UInt64, blockSize: Int
    /// Blocks per piece (the last may carry fewer).
    var blocksPerPiece: UInt64

    /// The number of pieces.
    var count: Int { Int((blocks + blocksPerPiece - 1) / blocksPerPiece) }

    /// Piece `index`: its first block, its blocks, and where its bytes start in the command's data.
    func piece(_ index: Int) -> (lba: UInt64, blocks: UInt64, byteOffset: Int) {
        let done = UInt64(index) * blocksPerPiece
        return (lba + done, min(blocksPerPiece, blocks - done), Int(done) * blockSize)
    }

    /// Writes piece `index`'s 16-byte CDB into `cdb` (its storage is reused: nothing is allocated
    /// once it holds 16 bytes and no task holds it).
    func cdb(of index: Int, into cdb: inout [UInt8]) {
        let piece = piece(index)
        cdb.removeAll(keepingCapacity: true)
        cdb.append(opcode)
        cdb.append(flags)
        for shift in stride(from: 56, through: 0, by: -8) { cdb.append(UInt8(truncatingIfNeeded: piece.lba >> UInt64(shift))) }
        for shift in stride(from: 24, through: 0, by: -8) { cdb.append(UInt8(truncatingIfNeeded: piece.blocks >> UInt64(shift))) }
        cdb.append(group)
        cdb.append(control)
    }

    /// The pieces for `cdb` on logical unit `unit`, with `given` bytes of iovecs, a buffer of
    /// `bufferBytes` and an announced limit of `transferLimit` bytes; nil when the command runs
    /// whole (it fits the buffer, or the translation is to refuse it).
    init?(cdb: [UInt8], given: Int, unit: LogicalUnit, bufferBytes: Int, transferLimit: Int) {
        guard let form = Self.form(of: cdb), let (lba, blocks) = blockCommandAddress(cdb) else { return nil }
        // GROUP NUMBER: byte 6 of the 10-byte form, the byte before CONTROL in the 12- and 16-byte ones.
        let group = cdb[cdb.count == 10 ? 6 : cdb.count - 2]
        let blockSize = unit.blockSize
        let perPiece = UInt64(min(bufferBytes, transferLimit) / blockSize)
        let (bytes, overflow) = blocks.multipliedReportingOverflow(by: UInt64(blockSize))
        guard !overflow, bytes > UInt64(bufferBytes), bytes <= UInt64(transferLimit), bytes == UInt64(given), perPiece > 0,
              cdb[1] & ~form.flagMask == 0, group & ~0x3F == 0, cdb[cdb.count - 1] == 0,
              lba < unit.blockCount, blocks <= unit.blockCount - lba else { return nil }
        self.init(opcode: form.opcode, flags: cdb[1], group: group, control: cdb[cdb.count - 1],
                  direction: form.direction, lba: lba, blocks: blocks, blockSize: blockSize, blocksPerPiece: perPiece)
    }

    init(opcode: UInt8, flags: UInt8, group: UInt8, control: UInt8, direction: DataDirection,
         lba: UInt64, blocks: UInt64, blockSize: Int, blocksPerPiece: UInt64) {
        (self.opcode, self.flags, self.group, self.control) = (opcode, flags, group, control)
        (self.direction, self.lba, self.blocks, self.blockSize, self.blocksPerPiece) = (direction, lba, blocks, blockSize, blocksPerPiece)
    }

    /// The 16-byte opcode, the byte 1 bits translation accepts (SBC-4: DPO and FUA for READ and
    /// WRITE, DPO and BYTCHK for WRITE AND VERIFY) and the direction of a command that may be split.
    static func form(of cdb: [UInt8]) -> (opcode: UInt8, flagMask: UInt8, direction: DataDirection)? {
        guard let opcode = cdb.first else { return nil }
        let form: (opcode: UInt8, flagMask: UInt8, direction: DataDirection), length: Int
        switch opcode {
        case 0x28, 0xA8, 0x88: form = (0x88, 0x18, .fromDevice)      // READ (10), (12), (16)
        case 0x2A, 0xAA, 0x8A: form = (0x8A, 0x18, .toDevice)        // WRITE (10), (12), (16)
        case 0x2E, 0xAE, 0x8E: form = (0x8E, 0x16, .toDevice)        // WRITE AND VERIFY (10), (12), (16)
        default: return nil
        }
        switch opcode >> 5 {
        case 1: length = 10
        case 5: length = 12
        default: length = 16
        }
        return cdb.count == length ? form : nil
    }
}
