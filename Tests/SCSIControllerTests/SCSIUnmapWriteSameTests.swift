import MockNVMe
import NVMe
import Testing
import Translation
import TestSupport
@testable import SCSIController

/// UNMAP (SBC-4 5.32) and WRITE SAME (10)/(16) (SBC-4 5.50, 5.51), judged by reading back.
@Suite struct SCSIUnmapWriteSameTests {
    @Test func unmappedBlocksReadBackAsZeros() throws {
        let scsi = try Rig.scsi()
        let data = pattern(32 * 512, seed: 1)
        #expect(scsi.scsiWrite(lba: 0, data).isGood)
        let list = unmapParameterList([(lba: 4, blocks: 8), (lba: 20, blocks: 2)])
        #expect(list.count == 40 && list[1] == 38 && list[3] == 32)
        let unmap = scsi.run(CDB.unmap(length: UInt16(list.count)), out: list)
        #expect(unmap.isGood)
        var expected = data
        expected.replaceSubrange((4 * 512)..<(12 * 512), with: [UInt8](repeating: 0, count: 8 * 512))
        expected.replaceSubrange((20 * 512)..<(22 * 512), with: [UInt8](repeating: 0, count: 2 * 512))
        #expect(scsi.scsiRead(lba: 0, blocks: 32).data == expected)
    }

    @Test func unmapPastTheEndIsLBAOutOfRange() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 64)] }
        let list = unmapParameterList([(lba: 60, blocks: 5)])
        let unmap = scsi.run(CDB.unmap(length: UInt16(list.count)), out: list)
        #expect(unmap.sense == fixedSense(0x05, 0x21, 0x00))
    }

    @Test func unmapWithAShortParameterListIsAParameterListLengthError() throws {
        let scsi = try Rig.scsi()
        let unmap = scsi.run(CDB.unmap(length: 6), out: [0, 4, 0, 0, 0, 0])
        #expect(unmap.status == .checkCondition)
        #expect(unmap.hasSense(0x05, 0x1A, 0x00))
    }

    @Test func writeSameWritesANonZeroBlockOverTheRange() throws {
        let scsi = try Rig.scsi()
        let block = pattern(512, seed: 0x77)
        let ten = scsi.run(CDB.writeSame10(lba: 100, blocks: 37), out: block)
        #expect(ten.isGood)
        // The data-out (one block) was consumed in full.
        #expect(ten.response.bytesTransferred == 512 && ten.response.residual == 0)
        #expect(scsi.scsiRead(lba: 100, blocks: 37).data == Array([[UInt8]](repeating: block, count: 37).joined()))
        // Its neighbours are untouched.
        #expect(scsi.scsiRead(lba: 99, blocks: 1).data == [UInt8](repeating: 0, count: 512))
        #expect(scsi.scsiRead(lba: 137, blocks: 1).data == [UInt8](repeating: 0, count: 512))
        // WRITE SAME (16) over more than one staging segment.
        let other = pattern(512, seed: 0x33)
        #expect(scsi.run(CDB.writeSame16(lba: 5000, blocks: 3000), out: other).isGood)
        #expect(scsi.scsiRead(lba: 5000, blocks: 3000).data == Array([[UInt8]](repeating: other, count: 3000).joined()))
    }

    @Test(arguments: [false, true])
    func writeSameOfAZeroBlockZeroesTheRange(unmap: Bool) throws {
        let scsi = try Rig.scsi()
        #expect(scsi.scsiWrite(lba: 0, pattern(64 * 512, seed: 2)).isGood)
        let zero = [UInt8](repeating: 0, count: 512)
        #expect(scsi.run(CDB.writeSame10(lba: 8, blocks: 16, unmap: unmap), out: zero).isGood)
        #expect(scsi.run(CDB.writeSame16(lba: 40, blocks: 8, unmap: unmap), out: zero).isGood)
        let back = scsi.scsiRead(lba: 0, blocks: 64).data
        #expect(Array(back[(8 * 512)..<(24 * 512)]).allSatisfy { $0 == 0 })
        #expect(Array(back[(40 * 512)..<(48 * 512)]).allSatisfy { $0 == 0 })
        #expect(Array(back[0..<(8 * 512)]) == Array(pattern(64 * 512, seed: 2)[0..<(8 * 512)]))
    }

    @Test func writeSameWithUnmapAndANonZeroBlockStillReadsBackTheBlock() throws {
        let scsi = try Rig.scsi()
        let block = pattern(512, seed: 0x19)
        #expect(scsi.run(CDB.writeSame16(lba: 0, blocks: 10, unmap: true), out: block).isGood)
        #expect(scsi.scsiRead(lba: 0, blocks: 10).data == Array([[UInt8]](repeating: block, count: 10).joined()))
    }

    @Test func writeSame16WithNoDataOutZeroes() throws {
        let scsi = try Rig.scsi()
        #expect(scsi.scsiWrite(lba: 0, pattern(16 * 512, seed: 3)).isGood)
        // NDOB: no data-out buffer, the block is zeros.
        #expect(scsi.run(CDB.writeSame16(lba: 0, blocks: 16, unmap: true, ndob: true)).isGood)
        #expect(scsi.scsiRead(lba: 0, blocks: 16).data.allSatisfy { $0 == 0 })
    }

    @Test func writeSameOfZeroBlocksIsRefusedBecauseWSNZIsSet() throws {
        let scsi = try Rig.scsi()
        let result = scsi.run(CDB.writeSame10(lba: 0, blocks: 0), out: pattern(512, seed: 1))
        #expect(result.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xC0, 0x00, 0x07]))
    }

    @Test func writeSamePastTheEndIsLBAOutOfRange() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 100)] }
        let result = scsi.run(CDB.writeSame16(lba: 90, blocks: 11), out: pattern(512, seed: 1))
        #expect(result.sense == fixedSense(0x05, 0x21, 0x00))
    }

    /// Which NVMe command a WRITE SAME became, seen by failing one opcode at a time: a task that
    /// does not trip a fault armed on an opcode did not send that opcode.
    static func arm(_ scsi: Rig, failing opcodes: [NVMOpcode]) {
        scsi.mock.removeInjectedFaults()
        for opcode in opcodes { scsi.mock.inject(.failCommands(.io(opcode), status: CompletionStatus(.internalError))) }
    }

    @Test func unmapWithAZeroBlockIsDatasetManagement() throws {
        let scsi = try Rig.scsi()
        #expect(scsi.scsiWrite(lba: 0, pattern(32 * 512, seed: 6)).isGood)
        let zero = [UInt8](repeating: 0, count: 512)
        // Neither Write nor Write Zeroes is sent: the range still reads back as zeros.
        Self.arm(scsi, failing: [.write, .writeZeroes])
        #expect(scsi.run(CDB.writeSame16(lba: 8, blocks: 16, unmap: true), out: zero).isGood)
        #expect(scsi.run(CDB.writeSame10(lba: 24, blocks: 4, unmap: true), out: zero).isGood)
        #expect(Array(scsi.scsiRead(lba: 0, blocks: 32).data[(8 * 512)..<(28 * 512)]).allSatisfy { $0 == 0 })
        // Dataset Management is: failing it fails the task (HARDWARE ERROR, INTERNAL TARGET FAILURE).
        Self.arm(scsi, failing: [.datasetManagement])
        #expect(scsi.run(CDB.writeSame16(lba: 8, blocks: 16, unmap: true), out: zero).sense == fixedSense(0x04, 0x44, 0x00))
    }

    @Test func aZeroBlockWithoutUnmapIsWriteZeroes() throws {
        let scsi = try Rig.scsi()
        #expect(scsi.scsiWrite(lba: 0, pattern(32 * 512, seed: 7)).isGood)
        let writes = scsi.mock.statistics.hostWriteCommands
        let zero = [UInt8](repeating: 0, count: 512)
        Self.arm(scsi, failing: [.write, .datasetManagement])
        #expect(scsi.run(CDB.writeSame10(lba: 4, blocks: 20, unmap: false), out: zero).isGood)
        #expect(scsi.mock.statistics.hostWriteCommands == writes)
        #expect(Array(scsi.scsiRead(lba: 0, blocks: 32).data[(4 * 512)..<(24 * 512)]).allSatisfy { $0 == 0 })
        Self.arm(scsi, failing: [.writeZeroes])
        #expect(scsi.run(CDB.writeSame10(lba: 4, blocks: 20, unmap: false), out: zero).sense == fixedSense(0x04, 0x44, 0x00))
    }

    /// The limits VPD B0h reports hold: MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT 256 (one Dataset
    /// Management command's ranges) and MAXIMUM UNMAP LBA COUNT FFFFFFFFh (no maximum).
    @Test func unmapHonoursTheBlockLimitsPage() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 0x2_0000_0000)] }
        let limits = scsi.run(CDB.inquiry(page: 0xB0, allocation: 64), inLength: 64)
        #expect(Array(limits.data[20..<28]) == [0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x01, 0x00])
        let most = unmapParameterList((0..<256).map { (lba: UInt64($0) * 16, blocks: UInt32(8)) })
        #expect(scsi.run(CDB.unmap(length: UInt16(most.count)), out: most).isGood)
        // 257 descriptors: INVALID FIELD IN PARAMETER LIST, pointer (C/D 0) at BLOCK DESCRIPTOR DATA LENGTH.
        let tooMany = unmapParameterList((0..<257).map { (lba: UInt64($0) * 16, blocks: UInt32(8)) })
        #expect(scsi.run(CDB.unmap(length: UInt16(tooMany.count)), out: tooMany).sense
            == fixedSense(0x05, 0x26, 0x00, specific: [0x80, 0x00, 0x02]))
        // More than FFFFFFFFh blocks in one UNMAP: no maximum, so GOOD, and the data is gone.
        #expect(scsi.scsiWrite(lba: 0x1_0000_0000, pattern(512, seed: 8)).isGood)
        let huge = unmapParameterList([(lba: 0, blocks: 0xFFFF_FFFF), (lba: 0xFFFF_FFFF, blocks: 2)])
        #expect(scsi.run(CDB.unmap(length: UInt16(huge.count)), out: huge).isGood)
        #expect(scsi.scsiRead(lba: 0x1_0000_0000, blocks: 1).data == [UInt8](repeating: 0, count: 512))
    }
}
