import MockNVMe
import NVMe
import Testing
import Translation
import TestSupport
@testable import SCSIController

/// SAM-5 (and the transport protocols it defers to): the residual counts the bytes of the
/// task's buffer that were not transferred. Parameter data the device server read (MODE SELECT's
/// and UNMAP's lists, WRITE SAME's one block) was transferred, even when no NVMe command moves it.
/// A data-in buffer longer than the command's transfer completes with the excess as residual; a
/// shorter one, or a data-out buffer of another length, is refused (README, "SCSI data buffers").
@Suite struct SCSIResidualTests {
    func expectConsumed(_ result: TaskResult, _ bytes: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.isGood, sourceLocation: sourceLocation)
        #expect(result.response.bytesTransferred == bytes, sourceLocation: sourceLocation)
        #expect(result.response.residual == 0, sourceLocation: sourceLocation)
    }

    @Test func modeSelectConsumesItsParameterList() throws {
        let scsi = try Rig.scsi { $0.volatileWriteCache = true }
        // Caching page with WCE 0: a Set Features goes to the device. 4-byte header + 20-byte page.
        let caching: [UInt8] = [0, 0, 0, 0] + ModePage.caching(wce: false)
        expectConsumed(scsi.run(CDB.modeSelect6(length: 24), out: caching), 24)
        // The same again: nothing to change, answered without the device.
        expectConsumed(scsi.run(CDB.modeSelect6(length: 24), out: caching), 24)
        // The control page (D_SENSE 1), MODE SELECT (10): 8-byte header + 12-byte page.
        let control: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0] + ModePage.control(dSense: true)
        expectConsumed(scsi.run(CDB.modeSelect10(length: 20), out: control), 20)
        // PARAMETER LIST LENGTH 0 transfers nothing (SPC-5 6.11): no buffer, no residual.
        let empty = scsi.run(CDB.modeSelect6(length: 0))
        #expect(empty.isGood && empty.response.residual == 0 && empty.response.bytesTransferred == 0)
    }

    @Test func unmapConsumesItsParameterList() throws {
        let scsi = try Rig.scsi()
        #expect(scsi.scsiWrite(lba: 0, pattern(16 * 512, seed: 2)).isGood)
        let list = unmapParameterList([(lba: 0, blocks: 8)])
        expectConsumed(scsi.run(CDB.unmap(length: UInt16(list.count)), out: list), 24)
        #expect(scsi.media(lba: 0, count: 8) == [UInt8](repeating: 0, count: 8 * 512))
        // A list with no descriptors unmaps nothing, but it was still read.
        let header = unmapParameterList([])
        expectConsumed(scsi.run(CDB.unmap(length: UInt16(header.count)), out: header), 8)
    }

    @Test func writeSameOfAZeroBlockConsumesTheBlock() throws {
        let scsi = try Rig.scsi()
        let zero = [UInt8](repeating: 0, count: 512)
        #expect(scsi.scsiWrite(lba: 0, pattern(64 * 512, seed: 3)).isGood)
        let writes = scsi.mock.statistics.hostWriteCommands
        // A zero block becomes Write Zeroes (no data moves by DMA), with UNMAP a deallocation.
        expectConsumed(scsi.run(CDB.writeSame10(lba: 0, blocks: 32), out: zero), 512)
        expectConsumed(scsi.run(CDB.writeSame16(lba: 32, blocks: 32, unmap: true), out: zero), 512)
        #expect(scsi.mock.statistics.hostWriteCommands == writes)
        #expect(scsi.media(lba: 0, count: 64) == [UInt8](repeating: 0, count: 64 * 512))
        // NDOB: no data-out at all, so nothing to count either way.
        let ndob = scsi.run(CDB.writeSame16(lba: 0, blocks: 8, ndob: true))
        #expect(ndob.isGood && ndob.response.bytesTransferred == 0 && ndob.response.residual == 0)
    }

    @Test func aLongerDataInBufferCompletesWithTheExcessAsResidual() throws {
        let scsi = try Rig.scsi()
        let data = pattern(4 * 512, seed: 4)
        #expect(scsi.scsiWrite(lba: 10, data).isGood)
        let reads = [CDB.read6(lba: 10, blocks: 4), CDB.read10(lba: 10, blocks: 4),
                     CDB.read12(lba: 10, blocks: 4), CDB.read16(lba: 10, blocks: 4)]
        for cdb in reads {
            let result = scsi.run(cdb, inLength: 3000)
            #expect(result.status == .good && result.sense.isEmpty, "\(cdb)")
            #expect(result.response.bytesTransferred == 2048 && result.response.residual == 3000 - 2048, "\(cdb)")
            #expect(Array(result.data[0..<2048]) == data, "\(cdb)")
            // The bytes past the transfer are not touched.
            #expect(result.data[2048...].allSatisfy { $0 == 0xEE }, "\(cdb)")
        }
    }

    @Test func aShorterDataInOrAnyOtherDataOutLengthIsStillRefused() throws {
        let scsi = try Rig.scsi()
        // READ(10) of 4 blocks into 2047 bytes: INVALID FIELD IN CDB at TRANSFER LENGTH (byte 7).
        let short = scsi.run(CDB.read10(lba: 0, blocks: 4), inLength: 2047)
        #expect(short.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xC0, 0x00, 0x07]))
        #expect(short.response.residual == 2047)
        // WRITE(10) of 1 block from a 1024-byte buffer: which 512 bytes were meant is not ours to guess.
        let long = scsi.run(CDB.write10(lba: 0, blocks: 1), out: pattern(1024, seed: 5))
        #expect(long.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xC0, 0x00, 0x07]))
        #expect(scsi.mock.statistics.hostWriteCommands == 0 && scsi.mock.statistics.hostReadCommands == 0)
    }
}
