import NVMe
import Testing
import TestSupport
@testable import Translation

/// START STOP UNIT plans (SBC-4 5.25; Reference 1.5 "START STOP UNIT"): byte 1 bit 0 IMMED,
/// byte 3 bits 3-0 POWER CONDITION MODIFIER, byte 4 bits 7-4 POWER CONDITION, bit 2 NO_FLUSH,
/// bit 1 LOEJ, bit 0 START. The fixture has a volatile write cache; NPSS 4 means power states
/// 0-4 with 4 the lowest.
@Suite struct StartStopUnitTests {
    static func facts(lowestPowerState: UInt8 = 4, cache: Bool = true) -> DeviceFacts {
        var facts = Fixture.facts()
        facts.lowestPowerState = lowestPowerState
        facts.controller.vwc = cache ? 1 : 0
        return facts
    }

    func ssu(_ byte4: UInt8, immed: Bool = false, modifier: UInt8 = 0, facts: DeviceFacts = Self.facts()) -> TranslationPlan {
        var state = LogicalUnitState()
        return plan([0x1B, immed ? 1 : 0, 0, modifier, byte4, 0], facts: facts, state: &state)
    }

    @Test(arguments: [
        // START_VALID: stop flushes, then the lowest power state; start needs no flush.
        (UInt8(0x00), UInt8(0), [NVMeOperation.flush(nsid: 1), .setPowerState(4)]),
        (0x04, 0, [.setPowerState(4)]),                             // NO_FLUSH
        (0x01, 0, [.setPowerState(0)]),                             // START
        (0x05, 0, [.setPowerState(0)]),
        (0x10, 0, [.setPowerState(0)]),                             // ACTIVE
        (0x11, 0, [.setPowerState(0)]),                             // ACTIVE ignores START
        (0x20, 0, [.flush(nsid: 1), .setPowerState(1)]),            // IDLE: idle_a, idle_b, idle_c
        (0x20, 1, [.flush(nsid: 1), .setPowerState(2)]),
        (0x20, 2, [.flush(nsid: 1), .setPowerState(3)]),
        (0x24, 0, [.setPowerState(1)]),
        (0x30, 0, [.flush(nsid: 1), .setPowerState(2)]),            // STANDBY: standby_z, standby_y
        (0x30, 1, [.flush(nsid: 1), .setPowerState(3)]),
        (0x34, 1, [.setPowerState(3)]),
    ])
    func powerConditions(byte4: UInt8, modifier: UInt8, operations: [NVMeOperation]) {
        #expect(ssu(byte4, modifier: modifier).operations == operations)
    }

    @Test func fewPowerStatesAreNeverExceeded() {
        // NPSS 2: IDLE stays above the lowest state, STANDBY does not go below 0.
        let two = Self.facts(lowestPowerState: 2)
        #expect(ssu(0x20, modifier: 2, facts: two).operations == [.flush(nsid: 1), .setPowerState(1)])
        #expect(ssu(0x30, modifier: 0, facts: two).operations == [.flush(nsid: 1), .setPowerState(0)])
        #expect(ssu(0x00, facts: two).operations == [.flush(nsid: 1), .setPowerState(2)])
    }

    @Test func oneStateOnlyNeedsNoSetFeatures() {
        // NPSS 0: the controller is in its only power state; a stop is the Flush alone.
        #expect(ssu(0x00, facts: Self.facts(lowestPowerState: 0)).operations == [.flush(nsid: 1)])
        // Nothing to send at all: the state changes at once, GOOD.
        var state = LogicalUnitState()
        let facts = Self.facts(lowestPowerState: 0, cache: false)
        #expect(plan([0x1B, 0, 0, 0, 0x00, 0], facts: facts, state: &state).response == SCSIResponse(status: .good))
        #expect(state.stopped)
        expectCheck(plan([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], length: 512, direction: .fromDevice, facts: facts, state: &state),
                    fixedSense(0x02, 0x04, 0x02))
        #expect(plan([0x1B, 0, 0, 0, 0x01, 0], facts: facts, state: &state).response == SCSIResponse(status: .good))
        #expect(!state.stopped)
    }

    @Test func stopAndStartChangeTheStateOnlyOnSuccess() throws {
        var state = LogicalUnitState()
        let facts = Self.facts()
        let stop = try #require(plan([0x1B, 0, 0, 0, 0x00, 0], facts: facts, state: &state).context)
        #expect(complete(stop, results: [NVMeResult(operationIndex: 0, status: .success), NVMeResult(operationIndex: 1, status: .success)],
                         facts: facts, state: &state) == SCSIResponse(status: .good))
        #expect(state.stopped && state.needsAttention)
        // Stopped: media access is NOT READY, INITIALIZING COMMAND REQUIRED; INQUIRY still works.
        expectCheck(plan([0, 0, 0, 0, 0, 0], facts: facts, state: &state), fixedSense(0x02, 0x04, 0x02))
        #expect(plan([0x12, 0, 0, 0, 36, 0], length: 36, direction: .fromDevice, facts: facts, state: &state).response?.status == .good)
        let start = try #require(plan([0x1B, 0, 0, 0, 0x01, 0], facts: facts, state: &state).context)
        _ = complete(start, results: [NVMeResult(operationIndex: 0, status: .success)], facts: facts, state: &state)
        #expect(!state.stopped)
        // A failed stop reports the failure and leaves the unit running.
        let failing = try #require(plan([0x1B, 0, 0, 0, 0x00, 0], facts: facts, state: &state).context)
        let response = complete(failing, results: [NVMeResult(operationIndex: 0, status: CompletionStatus(.internalError))],
                                facts: facts, state: &state)
        #expect(response == SCSIResponse(status: .checkCondition, sense: fixedSense(0x04, 0x44, 0x00)))
        #expect(!state.stopped)
    }

    @Test func immediateFailureIsADeferredError() throws {
        var state = LogicalUnitState()
        let facts = Self.facts()
        let stop = try #require(plan([0x1B, 0x01, 0, 0, 0x00, 0], facts: facts, state: &state).context)
        // IMMED: GOOD, and the failed Set Features waits as a deferred error (71h).
        let response = complete(stop, results: [NVMeResult(operationIndex: 0, status: .success),
                                                NVMeResult(operationIndex: 1, status: CompletionStatus(.internalError))],
                                facts: facts, state: &state)
        #expect(response == SCSIResponse(status: .good))
        #expect(!state.stopped)
        expectCheck(plan([0, 0, 0, 0, 0, 0], facts: facts, state: &state),
                    [0x71, 0, 0x04, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x44, 0x00, 0, 0, 0, 0])
        #expect(plan([0, 0, 0, 0, 0, 0], facts: facts, state: &state).response == SCSIResponse(status: .good))
    }

    @Test func refusedFields() {
        // LOEJ with START_VALID: no medium to load or eject.
        expectCheck(ssu(0x02), invalidCDB(byte: 4, bit: 1))
        // ...but ignored with another power condition (SBC-4 5.25).
        #expect(ssu(0x12).operations == [.setPowerState(0)])
        // LU_CONTROL, FORCE_IDLE_0, FORCE_STANDBY_0 and reserved conditions: the POWER CONDITION field.
        for condition: UInt8 in [0x70, 0xA0, 0xB0, 0x50, 0xF0] { expectCheck(ssu(condition), invalidCDB(byte: 4, bit: 7)) }
        // Modifiers the condition does not define: the POWER CONDITION MODIFIER field.
        expectCheck(ssu(0x00, modifier: 1), invalidCDB(byte: 3, bit: 3))
        expectCheck(ssu(0x20, modifier: 3), invalidCDB(byte: 3, bit: 3))
        expectCheck(ssu(0x30, modifier: 2), invalidCDB(byte: 3, bit: 3))
        // Reserved bits of bytes 1, 3 and 4.
        expectCheck(ssu(0x08), invalidCDB(byte: 4, bit: 3))
        expectCheck(ssu(0x00, modifier: 0x10), invalidCDB(byte: 3, bit: 4))
        // A data buffer for a command that has no data phase.
        expectCheck(plan([0x1B, 0, 0, 0, 0x01, 0], length: 512, direction: .toDevice, facts: Self.facts()),
                    fixedSense(0x05, 0x24, 0x00))
    }
}
