import ArgumentParser

/// `--verify`: what each logical block written holds, so a read can check it. Both modes make a
/// block's content a function of its LBA alone, so a read that races a rewrite of the same block
/// still sees valid data, and data written to the wrong LBA is caught.
enum VerifyMode: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// A 16-byte header (magic, CRC32C, LBA) and pseudo-random bytes seeded by the LBA; the
    /// CRC32C (Castagnoli) covers everything after the CRC field.
    case crc32c
    /// The block's LBA as a little-endian 64-bit word, repeated over the whole block.
    case pattern
}

/// Fills blocks before a write and checks them after a read; remembers which I/O units of the
/// region were written, for the read-back after a write workload. Belongs to one job's thread.
final class Verifier {
    static let magic: UInt32 = 0x4D56_4E53  // "SNVM" in memory order
    let mode: VerifyMode
    let blockSize: Int
    let units: UInt64
    private let written: UnsafeMutablePointer<UInt64>
    private let words: Int

    /// Refused above 2^28 units (a 32 MiB map): `--size` makes the region smaller.
    static let maximumUnits: UInt64 = 1 << 28

    init(mode: VerifyMode, blockSize: Int, units: UInt64) {
        self.mode = mode
        self.blockSize = blockSize
        self.units = units
        words = Int((units + 63) / 64)
        written = .allocate(capacity: max(1, words))
        written.initialize(repeating: 0, count: max(1, words))
    }

    deinit { written.deallocate() }

    func markWritten(_ unit: UInt64) { written[Int(unit / 64)] |= 1 << (unit % 64) }
    func wasWritten(_ unit: UInt64) -> Bool { written[Int(unit / 64)] & (1 << (unit % 64)) != 0 }

    /// The units written so far, in order.
    func writtenUnits() -> [UInt64] {
        var result: [UInt64] = []
        for word in 0..<words where written[word] != 0 {
            for bit in 0..<64 where written[word] & (1 << UInt64(bit)) != 0 { result.append(UInt64(word * 64 + bit)) }
        }
        return result
    }

    /// Writes the expected content of `count` blocks from `lba` at `address`.
    func fill(_ address: UnsafeMutableRawPointer, lba: UInt64, count: Int) {
        for index in 0..<count { fillBlock(address + index * blockSize, lba: lba + UInt64(index)) }
    }

    /// Checks `count` blocks read from `lba`; returns the first LBA that does not hold what it should.
    func firstMismatch(_ address: UnsafeRawPointer, lba: UInt64, count: Int) -> UInt64? {
        for index in 0..<count where !blockIsValid(address + index * blockSize, lba: lba + UInt64(index)) {
            return lba + UInt64(index)
        }
        return nil
    }

    /// Checks one read's blocks and records the first bad LBA in `result`.
    func check(_ data: UnsafeMutableRawPointer, lba: UInt64, blocks: Int, into result: inout JobResult) {
        result.verifiedBlocks += blocks
        if let bad = firstMismatch(UnsafeRawPointer(data), lba: lba, count: blocks) {
            result.mismatch("verify (\(mode.rawValue)): LBA \(bad) does not hold the data written to it")
        }
    }

    private func fillBlock(_ block: UnsafeMutableRawPointer, lba: UInt64) {
        let words = block.bindMemory(to: UInt64.self, capacity: blockSize / 8)
        switch mode {
        case .pattern:
            for index in 0..<blockSize / 8 { words[index] = lba.littleEndian }
        case .crc32c:
            var state = lba &* 0x9E37_79B9_7F4A_7C15 | 1
            for index in 2..<blockSize / 8 {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                words[index] = state
            }
            words[1] = lba.littleEndian
            block.storeBytes(of: Self.magic.littleEndian, as: UInt32.self)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: block + 8, count: blockSize - 8))
            block.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self)
        }
    }

    private func blockIsValid(_ block: UnsafeRawPointer, lba: UInt64) -> Bool {
        switch mode {
        case .pattern:
            let words = block.bindMemory(to: UInt64.self, capacity: blockSize / 8)
            for index in 0..<blockSize / 8 where words[index] != lba.littleEndian { return false }
            return true
        case .crc32c:
            guard block.loadUnaligned(as: UInt32.self) == Self.magic.littleEndian,
                  block.loadUnaligned(fromByteOffset: 8, as: UInt64.self) == lba.littleEndian else { return false }
            let stored = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            return stored == CRC32C.checksum(UnsafeRawBufferPointer(start: block + 8, count: blockSize - 8))
        }
    }
}

/// CRC-32C (Castagnoli, reflected polynomial 82F63B78h), table driven.
enum CRC32C {
    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { table in
            for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
