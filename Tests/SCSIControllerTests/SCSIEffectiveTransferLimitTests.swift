import MockNVMe
import SCSIController
import Testing
import TestSupport

/// VPD B0h's MAXIMUM TRANSFER LENGTH (SBC-4 6.6.4, in logical blocks) is what one task may
/// really carry. A caller may set maxTransferSize above segment count x segment byte count (the
/// rule only forbids below), but a task is served by at most that many commands, so the product
/// binds - and an initiator that trusts the page must never be refused below it.
@Suite struct SCSIEffectiveTransferLimitTests {
    /// 4 segments of 128 KiB (512 KiB per task), maxTransferSize 2 MiB, 512-byte blocks.
    static func rig() throws -> Rig {
        try Rig.scsi(options: {
            $0.constraints = .complete(segments: 4, segmentBytes: 128 << 10, maxTransferSize: 2 << 20)
        })
    }

    @Test func blockLimitsAdvertiseTheSegmentProductNotALargerMaxTransferSize() throws {
        let scsi = try Self.rig()
        let page = scsi.run(CDB.inquiry(page: 0xB0, allocation: 64), inLength: 64)
        #expect(page.isGood)
        // Bytes 8-11: 512 KiB / 512 = 1024 = 0000_0400h blocks (not 2 MiB's 1000h).
        #expect(Array(page.data[8..<12]) == [0x00, 0x00, 0x04, 0x00])
    }

    @Test func aTaskOfExactlyTheAdvertisedLimitIsServedAndOneBlockMoreIsRefused() throws {
        let scsi = try Self.rig()
        let atLimit = scsi.run(CDB.read10(lba: 0, blocks: 1024), inLength: 1024 * 512)
        #expect(atLimit.isGood)
        #expect(atLimit.response.bytesTransferred == 512 << 10)
        // SBC-4 4.x: a TRANSFER LENGTH above MAXIMUM TRANSFER LENGTH is INVALID FIELD IN CDB,
        // pointing at READ(10)'s TRANSFER LENGTH (byte 7): SKSV | C/D = C0h, field pointer 0007h.
        let beyond = scsi.run(CDB.read10(lba: 0, blocks: 1025), inLength: 1025 * 512)
        #expect(beyond.response.status == .checkCondition)
        #expect(beyond.sense == [0x70, 0, 0x05, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x24, 0x00, 0, 0xC0, 0x00, 0x07])
    }
}
