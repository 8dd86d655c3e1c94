import MockNVMe
#if canImport(Glibc)
import Glibc
#endif
import Testing
import Translation
import TestSupport
@testable import SCSIController

/// The seed thread's 1 GB transfer: one WRITE(16) and one READ(16) of 1 GiB through the task API
/// on a controller with a small MDTS, so the engine breaks each into thousands of commands.
@Suite struct SCSILargeTransferTests {
    @Test func oneGiBWriteAndReadThroughTheTaskAPI() throws {
        let gib = 1 << 30
        let blocks = gib / 512
        // MDTS 2: 16 KiB per command, 65536 commands each way.
        let scsi = try Rig.scsi { $0.mdts = 2; $0.namespaces = [MockNamespace(blockCount: UInt64(blocks) + 8)] }
        let source = try scsi.patterned(bytes: gib, seed: 0x1_6B)
        let writes = scsi.mock.statistics.hostWriteCommands
        let write = scsi.hba.process(SCSITask(cdb: CDB.write16(lba: 8, blocks: UInt32(blocks)), buffer: source,
                                              transferLength: gib, direction: .toDevice), on: scsi.queue)
        #expect(write.status == .good && write.sense.isEmpty, "\(write.sense) \(String(describing: write.error))")
        #expect(write.bytesTransferred == gib && write.residual == 0)
        #expect(scsi.mock.statistics.hostWriteCommands - writes == UInt64(gib / (16 << 10)))
        // The media at pieces each side of the first cut, in the middle and at the end (16 KiB,
        // 32 blocks each), as the mock holds them: not read back through the same breaker.
        for piece in [0, 1, 32767, 32768, 65535] {
            let expected = Array(UnsafeRawBufferPointer(start: source.address + piece * (16 << 10), count: 16 << 10))
            #expect(scsi.media(lba: 8 + UInt64(piece) * 32, count: 32) == expected, "piece \(piece)")
        }

        let sink = try scsi.controller.mapper.allocate(length: gib)
        memset(sink.address, 0xEE, gib)
        let read = scsi.hba.process(SCSITask(cdb: CDB.read16(lba: 8, blocks: UInt32(blocks)), buffer: sink,
                                             transferLength: gib, direction: .fromDevice), on: scsi.queue)
        #expect(read.status == .good && read.sense.isEmpty)
        #expect(read.bytesTransferred == gib && read.residual == 0)
        #expect(same(sink.address, source.address, count: gib))
        // Spot check against the pattern itself, not only against the source buffer.
        let words = sink.address.bindMemory(to: UInt64.self, capacity: gib / 8)
        for index in [0, 1, 4095, gib / 16, gib / 8 - 1] {
            #expect(words[index] == (UInt64(index) &* 0x9E37_79B9_7F4A_7C15) ^ 0x1_6B)
        }
    }
}
