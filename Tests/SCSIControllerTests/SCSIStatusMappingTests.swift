import MockNVMe
import NVMe
import Testing
import Translation
@testable import SCSIController

/// NVMe completion status -> SCSI status and sense through the whole stack (Translation
/// Reference "Status Mapping"), driven by the mock's fault injection, in both sense formats.
@Suite struct SCSIStatusMappingTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var opcode: NVMOpcode
        var status: CompletionStatus
        var key: UInt8, asc: UInt8, ascq: UInt8
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "Unrecovered Read Error", opcode: .read, status: CompletionStatus(.unrecoveredReadError), key: 0x03, asc: 0x11, ascq: 0x00),
        Case(name: "Write Fault", opcode: .write, status: CompletionStatus(.writeFault), key: 0x03, asc: 0x03, ascq: 0x00),
        Case(name: "LBA Out of Range", opcode: .read, status: CompletionStatus(.lbaOutOfRange), key: 0x05, asc: 0x21, ascq: 0x00),
        Case(name: "Invalid Field in Command", opcode: .write, status: CompletionStatus(.invalidFieldInCommand), key: 0x05, asc: 0x24, ascq: 0x00),
        Case(name: "Namespace Not Ready", opcode: .read, status: CompletionStatus(.namespaceNotReady), key: 0x02, asc: 0x04, ascq: 0x00),
        Case(name: "Internal Error", opcode: .write, status: CompletionStatus(.internalError), key: 0x04, asc: 0x44, ascq: 0x00),
        Case(name: "Namespace Write Protected", opcode: .write, status: CompletionStatus(.namespaceWriteProtected), key: 0x07, asc: 0x27, ascq: 0x00),
    ]

    /// Sets D_SENSE through MODE SELECT (6) and the control mode page.
    static func useDescriptorSense(_ scsi: SCSIRig) {
        let control: [UInt8] = [0, 0, 0, 0, 0x0A, 0x0A, 0x06, 0x10, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0]
        let result = scsi.run(CDB.modeSelect6(length: UInt8(control.count)), out: control)
        #expect(result.isGood)
    }

    func run(_ item: Case, on scsi: SCSIRig) -> TaskResult {
        scsi.mock.inject(.failCommands(.io(item.opcode, count: 1), status: item.status))
        return item.opcode == .read ? scsi.read(lba: 8, blocks: 8) : scsi.write(lba: 8, pattern(8 * 512, seed: 1))
    }

    @Test(arguments: cases)
    func fixedFormat(item: Case) throws {
        let scsi = try SCSIRig()
        let result = run(item, on: scsi)
        #expect(result.response.serviceResponse == .taskComplete)
        #expect(result.status == .checkCondition)
        #expect(result.sense.count == 18)
        // 70h (VALID may be set if INFORMATION holds an LBA), the key, ADDITIONAL SENSE LENGTH 0Ah, ASC/ASCQ.
        #expect(result.sense[0] & 0x7F == 0x70)
        #expect(result.sense[2] == item.key && result.sense[7] == 0x0A)
        #expect(result.sense[12] == item.asc && result.sense[13] == item.ascq)
        #expect(result.response.residual == 8 * 512)
        #expect(result.response.error != nil)
        // The fault was one command: the next one works.
        #expect(scsi.read(lba: 8, blocks: 8).isGood)
    }

    @Test(arguments: cases)
    func descriptorFormat(item: Case) throws {
        let scsi = try SCSIRig()
        Self.useDescriptorSense(scsi)
        let result = run(item, on: scsi)
        #expect(result.status == .checkCondition)
        #expect(Array(result.sense[0..<4]) == [0x72, item.key, item.asc, item.ascq])
        #expect(Int(result.sense[7]) == result.sense.count - 8)
    }

    @Test func aFailureAfterSomePiecesReportsTheResidual() throws {
        // MDTS 1: 8 KiB (16 blocks) per command. A 64-block READ is 4 commands; the second fails.
        let scsi = try SCSIRig { $0.mdts = 1 }
        #expect(scsi.write(lba: 0, pattern(64 * 512, seed: 4)).isGood)
        scsi.mock.inject(.failCommands(.io(.read, lbaRange: 16...16), status: CompletionStatus(.unrecoveredReadError)))
        let result = scsi.read(lba: 0, blocks: 64)
        #expect(result.hasSense(0x03, 0x11, 0x00))
        #expect(result.response.bytesTransferred == 16 * 512)
        #expect(result.response.residual == 48 * 512)
        #expect(Array(result.data[0..<(16 * 512)]) == Array(pattern(64 * 512, seed: 4)[0..<(16 * 512)]))
    }

    @Test(arguments: [false, true])
    func aCommandThatNeverCompletesIsAbortedCommand(descriptor: Bool) throws {
        let scsi = try SCSIRig(options: { $0.commandTimeoutMilliseconds = 50 })
        if descriptor { Self.useDescriptorSense(scsi) }
        scsi.mock.inject(.neverComplete(.io(.read, count: 1)))
        let result = scsi.read(lba: 0, blocks: 8)
        #expect(result.response.serviceResponse == .taskComplete)
        #expect(result.status == .checkCondition || result.status == .taskAborted)
        #expect(result.senseTriple?.key == 0x0B)
        #expect(result.sense.first == (descriptor ? 0x72 : 0x70))
        guard case .commandTimedOut = result.response.error else {
            Issue.record("expected a timeout, got \(String(describing: result.response.error))")
            return
        }
        // The unit still works afterwards.
        #expect(scsi.read(lba: 0, blocks: 8).isGood)
    }

    @Test func testUnitReadyAsksTheController() throws {
        // Removed: no unit answers at all.
        let removed = try SCSIRig()
        removed.mock.inject(.surpriseRemoval)
        #expect(removed.run(CDB.testUnitReady).response.serviceResponse == .serviceDeliveryOrTargetFailure)
        // Power lost (CSTS.RDY 0): NOT READY, LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE.
        let unpowered = try SCSIRig()
        unpowered.mock.powerCut()
        let notReady = unpowered.run(CDB.testUnitReady)
        #expect(notReady.response.serviceResponse == .taskComplete)
        #expect(notReady.sense == fixedSense(0x02, 0x04, 0x00))
        // Fatal (CSTS.CFS): HARDWARE ERROR, INTERNAL TARGET FAILURE.
        let fatal = try SCSIRig()
        fatal.mock.inject(.controllerFatal)
        #expect(fatal.run(CDB.testUnitReady).sense == fixedSense(0x04, 0x44, 0x00))
    }

    @Test func aRemovedDeviceFailsTheServiceRatherThanHanging() throws {
        let scsi = try SCSIRig()
        #expect(scsi.write(lba: 0, pattern(4096, seed: 1)).isGood)
        scsi.mock.inject(.surpriseRemoval)
        let read = scsi.read(lba: 0, blocks: 8)
        #expect(read.response.serviceResponse == .serviceDeliveryOrTargetFailure)
        let write = scsi.write(lba: 0, pattern(4096, seed: 2))
        #expect(write.response.serviceResponse == .serviceDeliveryOrTargetFailure)
        let sync = scsi.run(CDB.synchronizeCache10())
        #expect(sync.response.serviceResponse == .serviceDeliveryOrTargetFailure)
    }
}
