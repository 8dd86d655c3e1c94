import Testing
import Translation
import TestSupport
@testable import SCSIController

/// TEST UNIT READY, REQUEST SENSE and the POWER ON RESET unit attention every LUN reports once
/// after bring-up (SAM-5 5.14, SPC-5 6.39 and 6.47).
@Suite struct SCSIUnitAttentionTests {
    /// UNIT ATTENTION (6h), POWER ON, RESET, OR BUS DEVICE RESET OCCURRED (29h/00h), fixed format.
    static let powerOnReset: [UInt8] = [0x70, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x0A,
                                        0x00, 0x00, 0x00, 0x00, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00]

    @Test func theFirstCommandAfterBringUpGetsTheUnitAttentionOnce() throws {
        let scsi = try Rig.scsi(keepUnitAttention: true)
        let first = scsi.run(CDB.testUnitReady)
        #expect(first.response.serviceResponse == .taskComplete)
        #expect(first.status == .checkCondition)
        #expect(first.sense == Self.powerOnReset)
        let second = scsi.run(CDB.testUnitReady)
        #expect(second.isGood)
    }

    @Test func aMediaCommandAlsoGetsItAndMovesNoData() throws {
        let scsi = try Rig.scsi(keepUnitAttention: true)
        let read = scsi.run(CDB.read10(lba: 0, blocks: 1), inLength: 512)
        #expect(read.status == .checkCondition)
        #expect(read.sense == Self.powerOnReset)
        #expect(read.response.residual == 512)
        #expect(read.data.allSatisfy { $0 == 0xEE })
        #expect(scsi.mock.statistics.hostReadCommands == 0)
    }

    @Test func inquiryAndReportLUNsNeitherReportNorClearIt() throws {
        let scsi = try Rig.scsi(keepUnitAttention: true)
        #expect(scsi.run(CDB.inquiry(allocation: 36), inLength: 36).isGood)
        #expect(scsi.run(CDB.reportLUNs(allocation: 16), inLength: 16).isGood)
        #expect(scsi.run(CDB.testUnitReady).sense == Self.powerOnReset)
    }

    @Test func eachLUNHasItsOwnUnitAttention() throws {
        let scsi = try Rig.scsi(keepUnitAttention: true) {
            $0.namespaces = [.init(blockCount: 4096), .init(blockCount: 4096)]
        }
        #expect(scsi.run(CDB.testUnitReady, lun: 0).sense == Self.powerOnReset)
        #expect(scsi.run(CDB.testUnitReady, lun: 0).isGood)
        #expect(scsi.run(CDB.testUnitReady, lun: 1).sense == Self.powerOnReset)
    }

    @Test func requestSenseReturnsTheUnitAttentionAsDataAndClearsIt() throws {
        let scsi = try Rig.scsi(keepUnitAttention: true)
        let sense = scsi.run(CDB.requestSense(allocation: 252), inLength: 252)
        #expect(sense.isGood)
        #expect(Array(sense.data[0..<18]) == Self.powerOnReset)
        #expect(sense.response.bytesTransferred == 18)
        #expect(sense.response.residual == 252 - 18)
        #expect(scsi.run(CDB.testUnitReady).isGood)
    }

    @Test func requestSenseInDescriptorFormat() throws {
        let scsi = try Rig.scsi(keepUnitAttention: true)
        let sense = scsi.run(CDB.requestSense(desc: true, allocation: 252), inLength: 252)
        #expect(sense.isGood)
        // 72h, UNIT ATTENTION, 29h/00h, ADDITIONAL SENSE LENGTH 0.
        #expect(Array(sense.data[0..<8]) == [0x72, 0x06, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00])
        #expect(sense.response.residual == 252 - 8)
    }

    @Test func requestSenseWithNothingToReportIsNoSense() throws {
        let scsi = try Rig.scsi()
        let fixed = scsi.run(CDB.requestSense(allocation: 18), inLength: 18)
        #expect(fixed.isGood)
        #expect(fixed.data == [0x70, 0, 0x00, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x00, 0x00, 0, 0, 0, 0])
        let descriptor = scsi.run(CDB.requestSense(desc: true, allocation: 8), inLength: 8)
        #expect(descriptor.data == [0x72, 0x00, 0x00, 0x00, 0, 0, 0, 0])
    }

    @Test func requestSenseIsTruncatedToItsAllocationLengthWithoutError() throws {
        let scsi = try Rig.scsi(keepUnitAttention: true)
        let sense = scsi.run(CDB.requestSense(allocation: 8), inLength: 18)
        #expect(sense.isGood)
        #expect(Array(sense.data[0..<8]) == Array(Self.powerOnReset[0..<8]))
        #expect(Array(sense.data[8...]) == [UInt8](repeating: 0xEE, count: 10))
        #expect(sense.response.residual == 10)
    }

    @Test func testUnitReadyMovesNoDataAndIssuesNoIO() throws {
        let scsi = try Rig.scsi()
        let before = scsi.mock.statistics
        let ready = scsi.run(CDB.testUnitReady)
        #expect(ready.isGood)
        #expect(ready.response.bytesTransferred == 0 && ready.response.residual == 0)
        #expect(ready.response.tag == 7)
        let after = scsi.mock.statistics
        #expect(after.hostReadCommands == before.hostReadCommands && after.hostWriteCommands == before.hostWriteCommands)
    }
}
