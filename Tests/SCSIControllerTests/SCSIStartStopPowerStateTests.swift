import MockNVMe
import NVMe
import Testing
import TestSupport
@testable import SCSIController

/// START STOP UNIT (SBC-4 5.25; Reference 1.5 "START STOP UNIT") end to end on a mock with five
/// power states: PS0-PS3 operational, PS4 non-operational, so NPSS = 4 (NVMe: 0's based) names
/// the lowest-power state; the volatile write cache is on. The power state the controller is in
/// is read back with a hand-laid Get Features (opcode 0Ah, CDW10 FID 02h, SEL 000b current):
/// completion Dword 0 bits 4:0 are PS.
///
/// CDB: byte 1 bit 0 IMMED; byte 3 bits 3-0 POWER CONDITION MODIFIER; byte 4 bits 7-4 POWER
/// CONDITION, bit 2 NO_FLUSH, bit 1 LOEJ, bit 0 START.
@Suite struct SCSIStartStopPowerStateTests {
    /// NOT READY, LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED (04h/02h): SBC-4's answer
    /// to TEST UNIT READY and media access in the stopped power condition.
    static let notReadyInitializingCommandRequired = fixedSense(0x02, 0x04, 0x02)
    /// ILLEGAL REQUEST, INVALID FIELD IN CDB (24h/00h) without a field pointer: the Reference's
    /// mapping of NVMe Invalid Field in Command (SCT 0h, SC 02h).
    static let invalidFieldInCDB = fixedSense(0x05, 0x24, 0x00)
    /// HARDWARE ERROR, INTERNAL TARGET FAILURE (44h/00h): the mapping of NVMe Internal Error (06h).
    static let internalTargetFailure = fixedSense(0x04, 0x44, 0x00)
    static let stop: [UInt8] = [0x1B, 0x00, 0x00, 0x00, 0x00, 0x00]
    static let start: [UInt8] = [0x1B, 0x00, 0x00, 0x00, 0x01, 0x00]
    static let testUnitReady: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00]

    static func rig() throws -> Rig {
        try Rig.scsi { configuration in
            configuration.volatileWriteCache = true
            configuration.powerStates = [
                PowerStateDescriptor(maximumPowerCentiwatts: 2500),
                PowerStateDescriptor(maximumPowerCentiwatts: 1800, entryLatency: 10, exitLatency: 10, relativePerformance: 1),
                PowerStateDescriptor(maximumPowerCentiwatts: 1200, entryLatency: 50, exitLatency: 50, relativePerformance: 2),
                PowerStateDescriptor(maximumPowerCentiwatts: 600, entryLatency: 200, exitLatency: 200, relativePerformance: 3),
                PowerStateDescriptor(maximumPowerCentiwatts: 5, nonOperational: true, entryLatency: 5000, exitLatency: 10000,
                                     relativePerformance: 4),
            ]
        }
    }

    /// The controller's current power state, from Get Features - Power Management.
    static func powerState(_ scsi: Rig) throws -> UInt32 {
        var getFeatures = SubmissionQueueEntry()
        getFeatures.cdw0 = 0x0A
        getFeatures.cdw10 = 0x02
        return try scsi.controller.adminCommand(getFeatures, name: "Get Features (Power Management)").dw0 & 0x1F
    }

    @Test func theMockReportsNPSS4() throws {
        #expect(try Self.rig().controller.identify.npss == 4)
    }

    /// START_VALID with START 0: Flush, then PS NPSS; the unit is stopped, and what was only
    /// cached before the stop survives a power cut.
    @Test func stopFlushesThenEntersTheLowestPowerState() throws {
        let scsi = try Self.rig()
        let data = pattern(8 * 512, seed: 0x51)
        #expect(scsi.scsiWrite(lba: 40, data).isGood)
        #expect(scsi.mock.statistics.dirtyCachedBlocks == 8)
        #expect(scsi.run(Self.stop).isGood)
        #expect(try Self.powerState(scsi) == 4)
        let ready = scsi.run(Self.testUnitReady)
        #expect(ready.status == .checkCondition)
        #expect(ready.sense == Self.notReadyInitializingCommandRequired)
        scsi.mock.powerCut()
        #expect(scsi.media(lba: 40, count: 8) == data)
    }

    /// One unit walked through every power condition, each step away from the state before, so
    /// every expected power state is one the previous step did not leave behind.
    @Test func everyPowerConditionSetsItsPowerState() throws {
        let scsi = try Self.rig()
        let steps: [(cdb: [UInt8], powerState: UInt32, ready: Bool, name: String)] = [
            (Self.stop, 4, false, "START_VALID, START 0: PS NPSS"),
            (Self.start, 0, true, "START_VALID, START 1: PS 0"),
            ([0x1B, 0x00, 0x00, 0x01, 0x20, 0x00], 2, true, "IDLE, idle_b: PS 2"),
            ([0x1B, 0x00, 0x00, 0x00, 0x10, 0x00], 0, true, "ACTIVE: PS 0"),
            ([0x1B, 0x00, 0x00, 0x01, 0x30, 0x00], 3, true, "STANDBY, standby_y: PS NPSS - 1"),
            ([0x1B, 0x00, 0x00, 0x00, 0x30, 0x00], 2, true, "STANDBY, standby_z: PS NPSS - 2"),
            ([0x1B, 0x00, 0x00, 0x00, 0x20, 0x00], 1, true, "IDLE, idle_a: PS 1"),
            ([0x1B, 0x00, 0x00, 0x00, 0x04, 0x00], 4, false, "START_VALID, NO_FLUSH, START 0: PS NPSS"),
            ([0x1B, 0x00, 0x00, 0x00, 0x10, 0x00], 0, true, "ACTIVE from stopped: PS 0, medium accessible"),
        ]
        for step in steps {
            #expect(scsi.run(step.cdb).isGood, "\(step.name)")
            #expect(try Self.powerState(scsi) == step.powerState, "\(step.name)")
            let ready = scsi.run(Self.testUnitReady)
            if step.ready {
                #expect(ready.isGood, "\(step.name)")
            } else {
                #expect(ready.sense == Self.notReadyInitializingCommandRequired, "\(step.name)")
            }
        }
    }

    /// NO_FLUSH: the stop sends no Flush. A Flush fault armed for one command does not fire on
    /// it (it fires on the next stop without NO_FLUSH), and the cached data is lost on a power cut.
    @Test func stopWithNoFlushSendsNoFlushAndLosesTheCache() throws {
        let scsi = try Self.rig()
        let data = pattern(8 * 512, seed: 0x52)
        #expect(scsi.scsiWrite(lba: 80, data).isGood)
        scsi.mock.inject(.failCommands(.io(.flush, count: 1), status: CompletionStatus(.internalError)))
        #expect(scsi.run([0x1B, 0x00, 0x00, 0x00, 0x04, 0x00]).isGood)
        #expect(try Self.powerState(scsi) == 4)
        #expect(scsi.mock.statistics.dirtyCachedBlocks == 8)
        // The fault is still armed: a stop that flushes meets it.
        #expect(scsi.run(Self.start).isGood)
        #expect(scsi.run(Self.stop).sense == Self.internalTargetFailure)
        // The failed stop left the unit started, in PS 0; the cache still holds the data only.
        #expect(scsi.run(Self.testUnitReady).isGood)
        #expect(try Self.powerState(scsi) == 0)
        scsi.mock.powerCut()
        #expect(scsi.media(lba: 80, count: 8) == [UInt8](repeating: 0, count: 8 * 512))
    }

    /// Set Features failing with Invalid Field in Command: CHECK CONDITION, ILLEGAL REQUEST,
    /// INVALID FIELD IN CDB; the stop did not happen, so the unit is ready and still in PS 0.
    @Test func aRefusedPowerStateFailsTheStopAndLeavesTheUnitReady() throws {
        let scsi = try Self.rig()
        scsi.mock.inject(.failCommands(.admin(.setFeatures, count: 1), status: CompletionStatus(.invalidFieldInCommand)))
        let result = scsi.run(Self.stop)
        #expect(result.status == .checkCondition)
        #expect(result.sense == Self.invalidFieldInCDB)
        #expect(scsi.run(Self.testUnitReady).isGood)
        #expect(try Self.powerState(scsi) == 0)
    }

    /// IMMED: GOOD once the CDB is validated; the Set Features failure is then a deferred error
    /// (response code 71h) reported by the next command, once.
    @Test func anImmediateStopReportsTheRefusalAsADeferredError() throws {
        let scsi = try Self.rig()
        scsi.mock.inject(.failCommands(.admin(.setFeatures, count: 1), status: CompletionStatus(.invalidFieldInCommand)))
        #expect(scsi.run([0x1B, 0x01, 0x00, 0x00, 0x00, 0x00]).isGood)
        let deferred = scsi.run(Self.testUnitReady)
        #expect(deferred.status == .checkCondition)
        #expect(deferred.sense == [0x71, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x0A,
                                   0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00])
        #expect(scsi.run(Self.testUnitReady).isGood)
        #expect(try Self.powerState(scsi) == 0)
    }

    /// LU_CONTROL (7h) hands power conditions to the unit's timers, which this device does not
    /// keep: INVALID FIELD IN CDB with SKSV | C/D | BPV and bit 7 of byte 4 (the field's most
    /// significant bit), and nothing is sent: a Set Features fault armed for one command fires
    /// on the next power condition change instead.
    @Test func luControlIsRefusedWithoutASetFeatures() throws {
        let scsi = try Self.rig()
        scsi.mock.inject(.failCommands(.admin(.setFeatures, count: 1), status: CompletionStatus(.internalError)))
        let result = scsi.run([0x1B, 0x00, 0x00, 0x00, 0x70, 0x00])
        #expect(result.status == .checkCondition)
        #expect(result.sense == [0x70, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x0A,
                                 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0xCF, 0x00, 0x04])
        #expect(scsi.run(Self.testUnitReady).isGood)
        #expect(scsi.run([0x1B, 0x00, 0x00, 0x00, 0x20, 0x00]).sense == Self.internalTargetFailure)
        #expect(try Self.powerState(scsi) == 0)
        #expect(scsi.run([0x1B, 0x00, 0x00, 0x00, 0x20, 0x00]).isGood)
        #expect(try Self.powerState(scsi) == 1)
    }
}
