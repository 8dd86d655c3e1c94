import NVMe
import Testing
import TestSupport
@testable import Translation

@Suite struct UnitStateTests {
    @Test func unitAttentionReportedOnceExceptToInquiry() {
        var state = LogicalUnitState.attached
        // INQUIRY does not report or clear it.
        #expect(plan([0x12, 0, 0, 0, 36, 0], length: 36, direction: .fromDevice, state: &state).response?.status == .good)
        #expect(state.pendingUnitAttention != nil)
        // UNIT ATTENTION, POWER ON, RESET, OR BUS DEVICE RESET OCCURRED.
        expectCheck(plan([0, 0, 0, 0, 0, 0], state: &state), fixedSense(0x06, 0x29, 0x00))
        #expect(plan([0, 0, 0, 0, 0, 0], state: &state).response == SCSIResponse(status: .good))
    }

    @Test func requestSenseReportsAndClears() {
        var state = LogicalUnitState(pendingUnitAttention: .powerOnReset)
        expectData(plan([0x03, 0, 0, 0, 18, 0], length: 18, direction: .fromDevice, state: &state), fixedSense(0x06, 0x29, 0x00))
        // Then NO SENSE, in descriptor format when DESC is set.
        expectData(plan([0x03, 0x01, 0, 0, 252, 0], length: 252, direction: .fromDevice, state: &state),
                   [0x72, 0x00, 0x00, 0x00, 0, 0, 0, 0])
        // An absent LUN: LOGICAL UNIT NOT SUPPORTED as parameter data.
        expectData(plan([0x03, 0, 0, 0, 18, 0], lun: 3, length: 18, direction: .fromDevice), fixedSense(0x05, 0x25, 0x00))
    }

    @Test func deferredErrorUsesDeferredResponseCode() {
        var state = LogicalUnitState(deferredError: SenseCondition(.mediumError, .peripheralDeviceWriteFault, deferred: true))
        #expect(state.needsAttention)
        expectCheck(plan([0, 0, 0, 0, 0, 0], state: &state), [0x71, 0, 0x03, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x03, 0x00, 0, 0, 0, 0])
        #expect(state.deferredError == nil)
        #expect(!state.needsAttention)
        // REQUEST SENSE returns a deferred error as its data (SPC-5 6.39), descriptor format 73h here.
        state.deferredError = SenseCondition(.mediumError, .peripheralDeviceWriteFault, deferred: true)
        expectData(plan([0x03, 0x01, 0, 0, 252, 0], length: 252, direction: .fromDevice, state: &state),
                   [0x73, 0x03, 0x03, 0x00, 0, 0, 0, 0])
        #expect(state.deferredError == nil)
    }
}

@Suite struct CDBValidationTests {
    @Test func fieldPointerExample() {
        // Byte 1 bit 5 of TEST UNIT READY is reserved: the example from the brief, byte for byte.
        expectCheck(plan([0x00, 0x20, 0, 0, 0, 0]),
                    [0x70, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0xCD, 0x00, 0x01])
    }

    @Test func controlByte() {
        // NACA (bit 2) and LINK (bit 0) are not supported.
        expectCheck(plan([0x00, 0, 0, 0, 0, 0x04]), invalidCDB(byte: 5, bit: 2))
        expectCheck(plan([0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]), invalidCDB(byte: 9, bit: 0))
    }

    @Test func cdbLength() {
        // INVALID FIELD IN COMMAND INFORMATION UNIT: the CDB is not its group's length.
        expectCheck(plan([0x28, 0, 0, 0, 0, 0]), fixedSense(0x05, 0x0E, 0x03))
        expectCheck(plan([0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0]), fixedSense(0x05, 0x0E, 0x03))
        // No opcode at all: the same framing error, not an opcode the device lacks.
        expectCheck(plan([]), fixedSense(0x05, 0x0E, 0x03))
    }

    @Test func unsupportedCommandsAreNeverSilent() {
        // ATA PASS-THROUGH (16), PERSISTENT RESERVE IN/OUT, FORMAT UNIT, a vendor opcode.
        for cdb: [UInt8] in [[0x85] + [UInt8](repeating: 0, count: 15), [0x5E, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0],
                             [0x5F, 0, 0, 0, 0, 0, 0, 0, 0x18, 0], [0x04, 0, 0, 0, 0, 0], [0xC0, 0, 0, 0, 0, 0]] {
            expectCheck(plan(cdb, length: 255, direction: .fromDevice), invalidOpcodeSense)
        }
    }

    @Test func absentLUN() {
        expectCheck(plan([0, 0, 0, 0, 0, 0], lun: 1), fixedSense(0x05, 0x25, 0x00))
        expectCheck(plan([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], lun: 1, length: 512, direction: .fromDevice), fixedSense(0x05, 0x25, 0x00))
    }

    @Test func dataOutNeeded() {
        #expect(needsDataOut(cdb: [0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0]))
        #expect(needsDataOut(cdb: [0x2F, 0x02, 0, 0, 0, 0, 0, 0, 1, 0]))
        // WRITE AND VERIFY (10)/(16) with BYTCHK 01b: the compare data locates a miscompare.
        #expect(needsDataOut(cdb: [0x2E, 0x02, 0, 0, 0, 0, 0, 0, 1, 0]))
        #expect(needsDataOut(cdb: [0x8E, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]))
        #expect(!needsDataOut(cdb: [0x2E, 0x00, 0, 0, 0, 0, 0, 0, 1, 0]))
        #expect(!needsDataOut(cdb: [0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0]))
        #expect(!needsDataOut(cdb: []))
    }
}
