import MockNVMe
import NVMe
import Testing
import TestSupport
@testable import SCSIController

/// What the SCSI face reports around engine recovery and media errors.
@Suite struct SCSIRecoveryTests {
    /// SBC-4 4.18.1: a medium error's sense carries the failing LBA in INFORMATION (VALID set).
    /// MDTS 1 gives 16-block commands: the failing command of a 64-block READ at LBA 0 starts at 16.
    @Test func aMediumErrorCarriesTheFailingLBA() throws {
        let scsi = try Rig.scsi { $0.mdts = 1 }
        scsi.mock.inject(.failCommands(.io(.read, lbaRange: 20...20), status: CompletionStatus(.unrecoveredReadError)))
        let result = scsi.scsiRead(lba: 0, blocks: 64)
        #expect(Array(result.sense.prefix(18)) == fixedSense(0x03, 0x11, 0x00, information: 16))
    }

    /// SPC-5 6.47 (and SAM-5 on resets): after the controller was reset behind the initiator's back,
    /// the next command gets UNIT ATTENTION, POWER ON, RESET, OR BUS DEVICE RESET OCCURRED (29h/00h).
    @Test func aRecoveryResetRaisesAUnitAttention() throws {
        let scsi = try Rig.scsi(options: { $0.commandTimeoutMilliseconds = 50 })
        scsi.mock.inject(.neverComplete(.io(.read, count: 1)))
        scsi.mock.inject(.failCommands(.admin(.abort, count: 1), status: CompletionStatus(.abortCommandLimitExceeded)))
        _ = scsi.scsiRead(lba: 0, blocks: 8)
        #expect(scsi.controller.resetCount == 1)
        let next = scsi.run(CDB.testUnitReady)
        #expect(next.status == .checkCondition)
        #expect(Array(next.sense.prefix(18)) == fixedSense(0x06, 0x29, 0x00))
        #expect(scsi.run(CDB.testUnitReady).isGood)
    }
}
