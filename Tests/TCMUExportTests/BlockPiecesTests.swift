import NVMe
import RingSupport
import Testing
import Translation
@testable import TCMUExport

/// A READ or WRITE above the worker's buffer runs as READ (16) / WRITE (16) pieces (SBC-4 5.16,
/// 5.42: OPERATION CODE, byte 1 flags, LOGICAL BLOCK ADDRESS in bytes 2-9, TRANSFER LENGTH in
/// bytes 10-13, GROUP NUMBER in byte 14, CONTROL in byte 15); the CDB fields are read here
/// byte by byte, independently of the code under test.
@Suite struct BlockPiecesTests {
    /// A namespace of `blocks` blocks of 2^`shift` bytes.
    func unit(blocks: UInt64 = 1 << 20, shift: UInt8 = 9) -> LogicalUnit {
        var namespace = IdentifyNamespace()
        namespace.nsze = blocks
        namespace.lbaFormats = [LBAFormat(lbaDataSizeShift: shift)]
        return LogicalUnit(nsid: 1, namespace: namespace)
    }

    func lba(_ cdb: [UInt8]) -> UInt64 { cdb[2...9].reduce(0) { $0 << 8 | UInt64($1) } }
    func length(_ cdb: [UInt8]) -> UInt32 { cdb[10...13].reduce(0) { $0 << 8 | UInt32($1) } }

    func cdbs(_ pieces: BlockPieces) -> [[UInt8]] {
        (0..<pieces.count).map { index in
            var cdb: [UInt8] = []
            pieces.cdb(of: index, into: &cdb)
            return cdb
        }
    }

    @Test func aWrite10AboveTheBufferBecomesWrite16PiecesThatCoverItOnce() throws {
        // WRITE (10), FUA and DPO, LBA 1000, 65535 blocks of 512 bytes, group 5; 8 MiB buffers.
        let cdb: [UInt8] = [0x2A, 0x18, 0, 0, 0x03, 0xE8, 0x05, 0xFF, 0xFF, 0]
        let pieces = try #require(BlockPieces(cdb: cdb, given: 65535 * 512, unit: unit(), bufferBytes: 8 << 20, transferLimit: 1 << 30))
        #expect(pieces.direction == .toDevice)
        let all = cdbs(pieces)
        #expect(all.count == 4, "65535 blocks in pieces of 16384")
        var next: UInt64 = 1000, offset = 0
        for (index, piece) in all.enumerated() {
            #expect(piece.count == 16 && piece[0] == 0x8A, "WRITE (16)")
            #expect(piece[1] == 0x18, "DPO and FUA carried to every piece")
            #expect(lba(piece) == next)
            #expect(length(piece) == (index < 3 ? 16384 : 65535 - 3 * 16384))
            #expect(piece[14] == 0x05 && piece[15] == 0, "group number and control carried")
            #expect(pieces.piece(index).byteOffset == offset)
            next += UInt64(length(piece))
            offset += Int(length(piece)) * 512
        }
        #expect(next == 1000 + 65535, "the pieces end where the command ends")
    }

    @Test func readsOf12And16BytesSplitAndReachLBAsAbove32Bits() throws {
        // READ (12) of 256 blocks of 4 KiB through a 512 KiB buffer: two READ (16) pieces.
        let read12: [UInt8] = [0xA8, 0, 0, 0, 0, 0x10, 0, 0, 0x01, 0, 0, 0]
        let twelve = try #require(BlockPieces(cdb: read12, given: 256 << 12, unit: unit(shift: 12), bufferBytes: 512 << 10, transferLimit: 1 << 30))
        #expect(twelve.direction == .fromDevice)
        #expect(cdbs(twelve).map { [$0[0], UInt8(lba($0)), UInt8(length($0))] } == [[0x88, 0x10, 128], [0x88, 0x90, 128]])
        #expect(twelve.piece(1).byteOffset == 128 << 12)
        let high: UInt64 = 0x1_2345_6789
        let read16: [UInt8] = [0x88, 0x08] + (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64($0))) } + [0, 0, 0x02, 0x00, 0, 0]
        let pieces = try #require(BlockPieces(cdb: read16, given: 512 * 512, unit: unit(blocks: 1 << 40), bufferBytes: 128 << 10, transferLimit: 1 << 30))
        #expect(cdbs(pieces).map { lba($0) } == [high, high + 256])
        #expect(cdbs(pieces).allSatisfy { $0[1] == 0x08 && length($0) == 256 })
    }

    @Test func writeAndVerifyKeepsBYTCHK() throws {
        let cdb: [UInt8] = [0x2E, 0x02, 0, 0, 0, 0, 0, 0x01, 0x00, 0]
        let pieces = try #require(BlockPieces(cdb: cdb, given: 256 * 512, unit: unit(), bufferBytes: 64 << 10, transferLimit: 1 << 30))
        #expect(cdbs(pieces).map { [$0[0], $0[1]] } == [[0x8E, 0x02], [0x8E, 0x02]], "WRITE AND VERIFY (16), BYTCHK 01b")
    }

    @Test func whatTranslationIsToRefuseRunsWhole() {
        let namespace = unit(blocks: 100_000)
        let write: [UInt8] = [0x2A, 0, 0, 0, 0, 0, 0, 0x80, 0x00, 0]          // 32768 blocks at LBA 0
        #expect(BlockPieces(cdb: write, given: 32768 * 512, unit: namespace, bufferBytes: 1 << 20, transferLimit: 1 << 30) != nil)
        // Fits the buffer: one task, as before.
        #expect(BlockPieces(cdb: write, given: 32768 * 512, unit: namespace, bufferBytes: 16 << 20, transferLimit: 1 << 30) == nil)
        // Above MAXIMUM TRANSFER LENGTH: SBC-4 6.6.4 has it refused.
        #expect(BlockPieces(cdb: write, given: 32768 * 512, unit: namespace, bufferBytes: 1 << 20, transferLimit: 8 << 20) == nil)
        // iovecs other than the blocks (an EDTL mismatch).
        #expect(BlockPieces(cdb: write, given: 32768 * 512 - 512, unit: namespace, bufferBytes: 1 << 20, transferLimit: 1 << 30) == nil)
        // LBA OUT OF RANGE: past the end, or starting past it (SBC-4 4.5).
        #expect(BlockPieces(cdb: [0x2A, 0, 0, 1, 0x86, 0xA1, 0, 0x80, 0x00, 0], given: 32768 * 512, unit: namespace,
                            bufferBytes: 1 << 20, transferLimit: 1 << 30) == nil)
        #expect(BlockPieces(cdb: [0x2A, 0, 0, 0x01, 0x86, 0xA0, 0, 0x80, 0x00, 0], given: 32768 * 512, unit: namespace,
                            bufferBytes: 1 << 20, transferLimit: 1 << 30) == nil)
        // Bits translation does not accept: WRPROTECT, a reserved group bit, a control byte.
        for cdb: [UInt8] in [[0x2A, 0x20, 0, 0, 0, 0, 0, 0x80, 0x00, 0], [0x2A, 0, 0, 0, 0, 0, 0x40, 0x80, 0x00, 0],
                             [0x2A, 0, 0, 0, 0, 0, 0, 0x80, 0x00, 0x04]] {
            #expect(BlockPieces(cdb: cdb, given: 32768 * 512, unit: namespace, bufferBytes: 1 << 20, transferLimit: 1 << 30) == nil)
        }
        // Not a READ or WRITE of 10, 12 or 16 bytes: VERIFY, WRITE (6), a 10-byte opcode in 12 bytes.
        #expect(BlockPieces(cdb: [0x2F, 0x02, 0, 0, 0, 0, 0, 0x80, 0x00, 0], given: 32768 * 512, unit: namespace,
                            bufferBytes: 1 << 20, transferLimit: 1 << 30) == nil)
        #expect(BlockPieces.form(of: [0x0A, 0, 0, 0, 0, 0]) == nil)
        #expect(BlockPieces.form(of: [0x2A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) == nil)
    }

    @Test func copiesStartAnywhereInTheIovecs() {
        let image = RingImage(dataSize: 64 << 10)
        let a = image.data(100), b = image.data(300), c = image.data(50)
        for (index, offset) in [a, b, c].enumerated() {
            for byte in 0..<[100, 300, 50][index] { image.bytes[offset + byte] = UInt8(truncatingIfNeeded: index * 100 + byte) }
        }
        let whole = image.bytes(at: a, count: 100) + image.bytes(at: b, count: 300) + image.bytes(at: c, count: 50)
        let vectors = [IOVector(offset: a, length: 100), IOVector(offset: b, length: 300), IOVector(offset: c, length: 50)]
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 128, alignment: 8)
        defer { buffer.deallocate() }
        vectors.withUnsafeBufferPointer { iovecs in
            // 128 bytes from byte 90: the end of the first iovec, then the second.
            #expect(DataCopy.gather(iovecs, from: image.map, startingAt: 90, into: buffer) == 128)
            #expect(Array(buffer) == Array(whole[90..<218]))
            // The last 40 bytes from byte 410: the third iovec only.
            #expect(DataCopy.gather(iovecs, from: image.map, startingAt: 410, into: buffer) == 40)
            #expect(Array(buffer[0..<40]) == Array(whole[410..<450]))
            // Scatter 128 bytes back at byte 380: 20 into the second iovec, 50 into the third, the rest has no room.
            for index in 0..<128 { buffer[index] = 0xA5 }
            #expect(DataCopy.scatter(128, of: UnsafeRawBufferPointer(buffer), into: iovecs, startingAt: 380, of: image.map) == 70)
        }
        #expect(image.bytes(at: b, count: 300) == Array(whole[100..<380]) + [UInt8](repeating: 0xA5, count: 20))
        #expect(image.bytes(at: c, count: 50) == [UInt8](repeating: 0xA5, count: 50))
        #expect(image.bytes(at: a, count: 100) == Array(whole[0..<100]))
    }
}
