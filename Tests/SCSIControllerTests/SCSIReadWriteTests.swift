import MockNVMe
import Testing
import Translation
import TestSupport
@testable import SCSIController

/// READ/WRITE (6), (10), (12), (16) (SBC-4 5.15-5.18, 5.41-5.44): data round trips, the
/// READ(6) zero-means-256 rule, zero transfer lengths, DPO/FUA and LBA OUT OF RANGE.
@Suite struct SCSIReadWriteTests {
    static let lbaOutOfRange = fixedSense(0x05, 0x21, 0x00)

    @Test func everyCDBSizeRoundTripsItsData() throws {
        let scsi = try Rig.scsi()
        let sizes: [(write: [UInt8], read: [UInt8], lba: UInt64, blocks: Int)] = [
            (CDB.write6(lba: 0x1_2345, blocks: 3), CDB.read6(lba: 0x1_2345, blocks: 3), 0x1_2345, 3),
            (CDB.write10(lba: 0x10_0000, blocks: 9), CDB.read10(lba: 0x10_0000, blocks: 9), 0x10_0000, 9),
            (CDB.write12(lba: 0x1F_0000, blocks: 17), CDB.read12(lba: 0x1F_0000, blocks: 17), 0x1F_0000, 17),
            (CDB.write16(lba: 0x1F_FF00, blocks: 0x100), CDB.read16(lba: 0x1F_FF00, blocks: 0x100), 0x1F_FF00, 0x100),
        ]
        for (index, size) in sizes.enumerated() {
            let data = pattern(size.blocks * 512, seed: UInt8(index + 1))
            let write = scsi.run(size.write, out: data)
            #expect(write.isGood, "\(size.write)")
            #expect(write.response.bytesTransferred == data.count && write.response.residual == 0)
            // What reached the media is what was sent, at the LBA the CDB named.
            #expect(scsi.media(lba: size.lba, count: size.blocks) == data)
            let read = scsi.run(size.read, inLength: data.count)
            #expect(read.isGood)
            #expect(read.data == data)
            #expect(read.response.bytesTransferred == data.count && read.response.residual == 0)
        }
    }

    @Test func read6WithTransferLengthZeroReads256Blocks() throws {
        let scsi = try Rig.scsi()
        let data = pattern(256 * 512, seed: 0x5A)
        #expect(scsi.scsiWrite(lba: 100, data).isGood)
        let read = scsi.run(CDB.read6(lba: 100, blocks: 0), inLength: 256 * 512)
        #expect(read.isGood)
        #expect(read.data == data)
        // And WRITE(6) the same way.
        let other = pattern(256 * 512, seed: 0xA5)
        #expect(scsi.run(CDB.write6(lba: 1000, blocks: 0), out: other).isGood)
        #expect(scsi.media(lba: 1000, count: 256) == other)
    }

    @Test func aZeroTransferLengthMovesNothingAndIsNotAnError() throws {
        let scsi = try Rig.scsi()
        let before = scsi.mock.statistics
        for cdb in [CDB.read10(lba: 5, blocks: 0), CDB.write10(lba: 5, blocks: 0), CDB.read12(lba: 5, blocks: 0),
                    CDB.write12(lba: 5, blocks: 0), CDB.read16(lba: 5, blocks: 0), CDB.write16(lba: 5, blocks: 0)] {
            let result = scsi.run(cdb)
            #expect(result.isGood, "\(cdb)")
            #expect(result.response.bytesTransferred == 0)
        }
        let after = scsi.mock.statistics
        #expect(after.hostReadCommands == before.hostReadCommands)
        #expect(after.hostWriteCommands == before.hostWriteCommands)
    }

    @Test func dpoIsAcceptedAndFUAIsAccepted() throws {
        let scsi = try Rig.scsi()
        let data = pattern(4 * 512, seed: 3)
        // Byte 1: DPO bit 4, FUA bit 3.
        #expect(scsi.run(CDB.write10(lba: 8, blocks: 4, flags: 0x18), out: data).isGood)
        #expect(scsi.run(CDB.read10(lba: 8, blocks: 4, flags: 0x10), inLength: data.count).data == data)
        #expect(scsi.run(CDB.read16(lba: 8, blocks: 4, flags: 0x18), inLength: data.count).data == data)
        #expect(scsi.run(CDB.read12(lba: 8, blocks: 4, flags: 0x08), inLength: data.count).data == data)
    }

    @Test func fuaWritesSurviveAPowerCutWithTheCacheOn() throws {
        let scsi = try Rig.scsi { $0.volatileWriteCache = true }
        let durable = pattern(8 * 512, seed: 0x11)
        let volatile = pattern(8 * 512, seed: 0x22)
        #expect(scsi.run(CDB.write10(lba: 0, blocks: 8, flags: 0x08), out: durable).isGood)
        #expect(scsi.run(CDB.write12(lba: 16, blocks: 8, flags: 0x08), out: durable).isGood)
        #expect(scsi.run(CDB.write16(lba: 32, blocks: 8, fua: true), out: durable).isGood)
        #expect(scsi.run(CDB.write10(lba: 48, blocks: 8), out: volatile).isGood)
        scsi.mock.powerCut()
        #expect(scsi.media(lba: 0, count: 8) == durable)
        #expect(scsi.media(lba: 16, count: 8) == durable)
        #expect(scsi.media(lba: 32, count: 8) == durable)
        // The control: without FUA (and no flush) the cached write is gone.
        #expect(scsi.media(lba: 48, count: 8) == [UInt8](repeating: 0, count: 8 * 512))
    }

    @Test func pastTheEndIsLBAOutOfRangeAndTouchesNothing() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 1000)] }
        let data = pattern(512 * 2, seed: 9)
        // Last block 999: 999 + 2 blocks ends past it.
        let cases: [(cdb: [UInt8], out: Bool)] = [
            (CDB.write10(lba: 999, blocks: 2), true), (CDB.read10(lba: 999, blocks: 2), false),
            (CDB.write16(lba: 999, blocks: 2), true), (CDB.read12(lba: 999, blocks: 2), false),
            (CDB.read16(lba: 0xFFFF_FFFF_FFFF_FFFF, blocks: 2), false),   // LBA + length wraps
            (CDB.read6(lba: 999, blocks: 2), false), (CDB.write6(lba: 1000, blocks: 2), true),
        ]
        for item in cases {
            let result = item.out ? scsi.run(item.cdb, out: data) : scsi.run(item.cdb, inLength: data.count)
            #expect(result.status == .checkCondition, "\(item.cdb)")
            #expect(result.sense == Self.lbaOutOfRange, "\(item.cdb)")
            #expect(result.response.residual == data.count)
        }
        #expect(scsi.mock.statistics.hostWriteCommands == 0 && scsi.mock.statistics.hostReadCommands == 0)
        // A zero-length transfer starting past the end is still out of range.
        #expect(scsi.run(CDB.read10(lba: 1001, blocks: 0)).sense == Self.lbaOutOfRange)
        // The last block itself is fine.
        #expect(scsi.run(CDB.write10(lba: 999, blocks: 1), out: Array(data[0..<512])).isGood)
    }

    @Test func aTransferLengthOtherThanTheBufferIsRefusedNotTruncated() throws {
        let scsi = try Rig.scsi()
        // READ(10) of 8 blocks (4096 bytes) with a 2048-byte task: INVALID FIELD IN CDB at the
        // TRANSFER LENGTH field (byte 7), nothing read.
        let short = scsi.run(CDB.read10(lba: 0, blocks: 8), inLength: 2048)
        #expect(short.status == .checkCondition)
        #expect(short.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xC0, 0x00, 0x07]))
        #expect(short.data.allSatisfy { $0 == 0xEE })
        // WRITE(16) of 4 blocks with 1 block of data: field pointer at byte 10.
        let write = scsi.run(CDB.write16(lba: 0, blocks: 4), out: pattern(512, seed: 1))
        #expect(write.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xC0, 0x00, 0x0A]))
        #expect(scsi.mock.statistics.hostWriteCommands == 0 && scsi.mock.statistics.hostReadCommands == 0)
    }

    @Test func roundTripsWithAThreadedOutOfOrderDevice() throws {
        let scsi = try Rig.scsi({ $0.mdts = 1; $0.executionMode = .threaded(latency: .microseconds(20), outOfOrder: true) },
                               options: { $0.commandTimeoutMilliseconds = 5000 })
        let data = pattern(256 * 512, seed: 0x3C)   // 16 commands of 8 KiB each way
        #expect(scsi.run(CDB.write12(lba: 4096, blocks: 256), out: data).isGood)
        #expect(scsi.run(CDB.read12(lba: 4096, blocks: 256), inLength: data.count).data == data)
    }

    @Test func read6ReachesTheLast21BitLBA() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 0x20_0000)] }
        let data = pattern(512, seed: 0x21)
        #expect(scsi.run(CDB.write6(lba: 0x1F_FFFF, blocks: 1), out: data).isGood)
        #expect(scsi.media(lba: 0x1F_FFFF, count: 1) == data)
        #expect(scsi.run(CDB.read6(lba: 0x1F_FFFF, blocks: 1), inLength: 512).data == data)
    }

    @Test func aTransferAboveTheMaximumTransferLengthIsRefused() throws {
        // HBA limit: 4 segments of 64 KiB, so MAXIMUM TRANSFER LENGTH (VPD B0h) is 512 blocks.
        let overrides = HBAConstraintOverrides(
            maximumSegmentCountRead: 4, maximumSegmentCountWrite: 4,
            maximumSegmentByteCountRead: 64 << 10, maximumSegmentByteCountWrite: 64 << 10,
            minimumSegmentAlignmentByteCount: 4, maximumSegmentAddressableBitCount: 64,
            minimumHBADataAlignmentMask: 3, maxTransferSize: 256 << 10, dmaAlignment: 4)
        let scsi = try Rig.scsi(options: { $0.constraints = overrides })
        let limits = scsi.run(CDB.inquiry(page: 0xB0, allocation: 64), inLength: 64)
        #expect(Array(limits.data[8..<12]) == [0x00, 0x00, 0x02, 0x00])
        #expect(scsi.run(CDB.read10(lba: 0, blocks: 512), inLength: 512 * 512).isGood)
        // SBC-4 6.6.4: a transfer length above it is ILLEGAL REQUEST, INVALID FIELD IN CDB.
        let read = scsi.run(CDB.read10(lba: 0, blocks: 513), inLength: 513 * 512)
        #expect(read.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xC0, 0x00, 0x07]))
        let write = scsi.run(CDB.write16(lba: 0, blocks: 600), out: pattern(600 * 512, seed: 1))
        #expect(write.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xC0, 0x00, 0x0A]))
        #expect(scsi.mock.statistics.hostWriteCommands == 0)
    }

    @Test func a4KNamespaceUsesItsBlockSize() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 1 << 16, blockSize: 4096)] }
        let data = pattern(3 * 4096, seed: 0x44)
        #expect(scsi.run(CDB.write10(lba: 77, blocks: 3), out: data).isGood)
        #expect(scsi.run(CDB.read10(lba: 77, blocks: 3), inLength: data.count).data == data)
    }

    /// SBC-4 4.5: an LBA beyond the last one is out of range even when nothing is transferred;
    /// the last LBA itself with a zero length is fine. Last LBA here: 999.
    @Test func aZeroLengthTransferAtTheCapacityIsOutOfRange() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 1000)] }
        for cdb in [CDB.read10(lba: 1000, blocks: 0), CDB.write16(lba: 1000, blocks: 0), CDB.ten(0x2F, lba: 1000, blocks: 0),
                    CDB.synchronizeCache10(lba: 1000, blocks: 0), CDB.synchronizeCache16(lba: 1000, blocks: 0)] {
            #expect(scsi.run(cdb).sense == Self.lbaOutOfRange, "\(cdb)")
        }
        for cdb in [CDB.read10(lba: 999, blocks: 0), CDB.write16(lba: 999, blocks: 0), CDB.ten(0x2F, lba: 999, blocks: 0),
                    CDB.synchronizeCache10(lba: 999, blocks: 0), CDB.synchronizeCache16(lba: 999, blocks: 0)] {
            #expect(scsi.run(cdb).isGood, "\(cdb)")
        }
    }
}
