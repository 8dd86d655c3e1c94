import MockNVMe
import NVMe
import Testing
import Translation
import TestSupport
@testable import SCSIController

/// NVMe completion status -> SCSI status and sense through the whole stack (Reference 1.5
/// "Status Mapping"; statuses newer than it per SBC-4/SPC-5), every row, driven by the mock's
/// fault injection on a READ (16) of 8 blocks at LBA 8, in both sense formats.
@Suite struct SCSIStatusMappingTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var nvme: CompletionStatus
        var status: SCSIStatus
        /// Sense key, ASC, ASCQ; nil for a status without sense data.
        var sense: (key: UInt8, asc: UInt8, ascq: UInt8)?
        /// INFORMATION: the failing LBA of a media error (SBC-4 4.18.1).
        var information: UInt32?
        var testDescription: String { "\(nvme)" }
    }

    /// Rows grouped by their SCSI answer.
    static let rows: [Row] = [
        ([CompletionStatus(.invalidCommandOpcode)], SCSIStatus.checkCondition, (UInt8(0x05), UInt8(0x20), UInt8(0x00)), UInt32?.none),
        ([CompletionStatus(.invalidFieldInCommand), CompletionStatus(.conflictingAttributes)], .checkCondition, (0x05, 0x24, 0x00), nil),
        ([CompletionStatus(.dataTransferError), CompletionStatus(.capacityExceeded)], .checkCondition, (0x03, 0x00, 0x00), nil),
        ([CompletionStatus(.abortedPowerLoss)], .taskAborted, (0x0B, 0x0B, 0x08), nil),
        ([CompletionStatus(.internalError)], .checkCondition, (0x04, 0x44, 0x00), nil),
        // An Abort Requested the engine did not ask for (no NVMe Abort was sent for this command) is
        // the device's own abort and maps by the Reference's row like its siblings; the engine's
        // own timeouts are CHECK CONDITION, COMMAND TIMEOUT DURING PROCESSING (timeout tests).
        ([CompletionStatus(.abortRequested), CompletionStatus(.abortedSQDeletion), CompletionStatus(.abortedFailedFused),
          CompletionStatus(.abortedMissingFused)],
         .taskAborted, (0x0B, 0x00, 0x00), nil),
        ([CompletionStatus(.invalidNamespaceOrFormat)], .checkCondition, (0x05, 0x20, 0x09), nil),
        ([CompletionStatus(.lbaOutOfRange)], .checkCondition, (0x05, 0x21, 0x00), nil),
        ([CompletionStatus(.namespaceNotReady)], .checkCondition, (0x02, 0x04, 0x00), nil),
        ([CompletionStatus(.formatInProgress)], .checkCondition, (0x02, 0x04, 0x04), nil),
        ([CompletionStatus(.sanitizeInProgress)], .checkCondition, (0x02, 0x04, 0x1B), nil),
        ([CompletionStatus(.namespaceWriteProtected), CompletionStatus(.attemptedWriteToReadOnlyRange)], .checkCondition, (0x07, 0x27, 0x00), nil),
        ([CompletionStatus(.invalidFormat)], .checkCondition, (0x05, 0x31, 0x01), nil),
        ([CompletionStatus(.writeFault)], .checkCondition, (0x03, 0x03, 0x00), 8),
        ([CompletionStatus(.unrecoveredReadError)], .checkCondition, (0x03, 0x11, 0x00), 8),
        ([CompletionStatus(.endToEndGuardCheckError)], .checkCondition, (0x03, 0x10, 0x01), 8),
        ([CompletionStatus(.endToEndApplicationTagCheckError)], .checkCondition, (0x03, 0x10, 0x02), 8),
        ([CompletionStatus(.endToEndReferenceTagCheckError)], .checkCondition, (0x03, 0x10, 0x03), 8),
        ([CompletionStatus(.compareFailure)], .checkCondition, (0x0E, 0x1D, 0x00), nil),
        ([CompletionStatus(.accessDenied)], .checkCondition, (0x07, 0x20, 0x02), nil),
        ([CompletionStatus(.deallocatedOrUnwrittenLogicalBlock), CompletionStatus(.prpOffsetInvalid),
          CompletionStatus(.sglDescriptorTypeInvalid), CompletionStatus(.dataSGLLengthInvalid), CompletionStatus(.commandIDConflict),
          CompletionStatus(.commandSequenceError), CompletionStatus(.invalidQueueIdentifier),
          CompletionStatus(type: .vendorSpecific, code: 0x42), CompletionStatus(type: .generic, code: 0x7F)],
         .checkCondition, (0x05, 0x00, 0x00), nil),
        ([CompletionStatus(type: .pathRelated, code: 0x00)], .checkCondition, (0x0B, 0x08, 0x00), nil),
        // RESERVATION CONFLICT is a status of its own, with no sense data.
        ([CompletionStatus(.reservationConflict)], .reservationConflict, nil, nil),
    ].flatMap { statuses, status, sense, information in
        statuses.map { Row(nvme: $0, status: status, sense: sense, information: information) }
    }

    /// Sets D_SENSE through MODE SELECT (6) and the control mode page.
    static func useDescriptorSense(_ scsi: Rig) {
        let control = ModePage.selectList6(ModePage.control(dSense: true))
        let result = scsi.run(CDB.modeSelect6(length: UInt8(control.count)), out: control)
        #expect(result.isGood)
    }

    func failedRead(_ row: Row, on scsi: Rig) -> TaskResult {
        scsi.mock.inject(.failCommands(.io(.read, count: 1), status: row.nvme))
        return scsi.scsiRead(lba: 8, blocks: 8)
    }

    @Test(arguments: rows)
    func everyRow(row: Row) throws {
        let scsi = try Rig.scsi(options: { $0.commandTimeoutMilliseconds = 100 })
        let fixed = failedRead(row, on: scsi)
        #expect(fixed.response.serviceResponse == .taskComplete)
        #expect(fixed.status == row.status)
        #expect(fixed.response.residual == 8 * 512)
        #expect(fixed.response.error != nil)
        // SPC-5 4.4.3 fixed format: 70h (F0h with INFORMATION valid), key, INFORMATION in 3-6,
        // ADDITIONAL SENSE LENGTH 0Ah, ASC/ASCQ in 12-13.
        #expect(fixed.sense == row.sense.map { fixedSense($0.key, $0.asc, $0.ascq, information: row.information) } ?? [])
        // The fault was one command: the next one works.
        #expect(scsi.scsiRead(lba: 8, blocks: 8).isGood)
        // SPC-5 4.4.2 descriptor format: 72h, key, ASC, ASCQ, and an Information descriptor
        // (00h, length 0Ah, VALID, 8-byte INFORMATION) when there is one.
        Self.useDescriptorSense(scsi)
        let descriptor = failedRead(row, on: scsi)
        var expected: [UInt8] = row.sense.map { [0x72, $0.key, $0.asc, $0.ascq, 0, 0, 0, 0] } ?? []
        if let information = row.information {
            expected[7] = 0x0C
            expected += [0x00, 0x0A, 0x80, 0x00] + be(UInt64(information), 8)
        }
        #expect(descriptor.sense == expected)
    }

    @Test func aFailureAfterSomePiecesReportsTheResidual() throws {
        // MDTS 1: 8 KiB (16 blocks) per command. A 64-block READ is 4 commands; the second fails.
        let scsi = try Rig.scsi { $0.mdts = 1 }
        #expect(scsi.scsiWrite(lba: 0, pattern(64 * 512, seed: 4)).isGood)
        scsi.mock.inject(.failCommands(.io(.read, lbaRange: 16...16), status: CompletionStatus(.unrecoveredReadError)))
        let result = scsi.scsiRead(lba: 0, blocks: 64)
        #expect(result.hasSense(0x03, 0x11, 0x00))
        #expect(result.response.bytesTransferred == 16 * 512)
        #expect(result.response.residual == 48 * 512)
        #expect(Array(result.data[0..<(16 * 512)]) == Array(pattern(64 * 512, seed: 4)[0..<(16 * 512)]))
    }

    @Test(arguments: [false, true])
    func aCommandThatNeverCompletesIsAbortedCommand(descriptor: Bool) throws {
        let scsi = try Rig.scsi(options: { $0.commandTimeoutMilliseconds = 50 })
        if descriptor { Self.useDescriptorSense(scsi) }
        scsi.mock.inject(.neverComplete(.io(.read, count: 1)))
        let result = scsi.scsiRead(lba: 0, blocks: 8)
        #expect(result.response.serviceResponse == .taskComplete)
        // The HBA aborted it (SAM-5 5.3.1: not TASK ABORTED, TAS is 0): CHECK CONDITION, ABORTED
        // COMMAND, COMMAND TIMEOUT DURING PROCESSING (2Eh/02h).
        #expect(result.status == .checkCondition)
        #expect(result.sense == (descriptor ? descriptorSense(0x0B, 0x2E, 0x02) : fixedSense(0x0B, 0x2E, 0x02)))
        guard case .commandTimedOut = result.response.error else {
            Issue.record("expected a timeout, got \(String(describing: result.response.error))")
            return
        }
        // The unit still works afterwards.
        #expect(scsi.scsiRead(lba: 0, blocks: 8).isGood)
    }

    @Test func testUnitReadyAsksTheController() throws {
        // Removed: no unit answers at all.
        let removed = try Rig.scsi()
        removed.mock.inject(.surpriseRemoval)
        #expect(removed.run(CDB.testUnitReady).response.serviceResponse == .serviceDeliveryOrTargetFailure)
        // Power lost (CSTS.RDY 0): NOT READY, LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE.
        let unpowered = try Rig.scsi()
        unpowered.mock.powerCut()
        let notReady = unpowered.run(CDB.testUnitReady)
        #expect(notReady.response.serviceResponse == .taskComplete)
        #expect(notReady.sense == fixedSense(0x02, 0x04, 0x00))
        // Fatal (CSTS.CFS): HARDWARE ERROR, INTERNAL TARGET FAILURE.
        let fatal = try Rig.scsi()
        fatal.mock.inject(.controllerFatal)
        #expect(fatal.run(CDB.testUnitReady).sense == fixedSense(0x04, 0x44, 0x00))
    }

    @Test func aRemovedDeviceFailsTheServiceRatherThanHanging() throws {
        let scsi = try Rig.scsi()
        #expect(scsi.scsiWrite(lba: 0, pattern(4096, seed: 1)).isGood)
        scsi.mock.inject(.surpriseRemoval)
        let read = scsi.scsiRead(lba: 0, blocks: 8)
        #expect(read.response.serviceResponse == .serviceDeliveryOrTargetFailure)
        let write = scsi.scsiWrite(lba: 0, pattern(4096, seed: 2))
        #expect(write.response.serviceResponse == .serviceDeliveryOrTargetFailure)
        let sync = scsi.run(CDB.synchronizeCache10())
        #expect(sync.response.serviceResponse == .serviceDeliveryOrTargetFailure)
    }
}
