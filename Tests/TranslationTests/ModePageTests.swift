import NVMe
import Testing
import TestSupport
@testable import Translation

@Suite struct ModePageTests {
    let caching = ModePage.caching(wce: true)
    let control = ModePage.control(dSense: false)

    @Test func modeSense6CachingWithBlockDescriptor() {
        // Header: MODE DATA LENGTH 31, medium type 0, DPOFUA, block descriptor length 8; short
        // descriptor: 1000h blocks, length 512.
        let expected: [UInt8] = [0x1F, 0x00, 0x10, 0x08, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x02, 0x00] + caching
        expectData(plan([0x1A, 0x00, 0x08, 0x00, 0xFF, 0x00], length: 255, direction: .fromDevice), expected)
    }

    @Test func modeSense6DBD() {
        expectData(plan([0x1A, 0x08, 0x0A, 0x00, 0xFF, 0x00], length: 255, direction: .fromDevice),
                   [0x0F, 0x00, 0x10, 0x00] + control)
    }

    @Test func modeSense10AllPagesLongLBA() {
        let expected: [UInt8] = [0x00, 0x36, 0x00, 0x10, 0x01, 0x00, 0x00, 0x10]
            + [0, 0, 0, 0, 0, 0, 0x10, 0x00, 0, 0, 0, 0, 0, 0, 0x02, 0x00] + caching + control
        expectData(plan([0x5A, 0x10, 0x3F, 0x00, 0, 0, 0, 0x01, 0x00, 0], length: 256, direction: .fromDevice), expected)
        // All subpages (FFh) is the same here: these pages have none.
        expectData(plan([0x5A, 0x10, 0x3F, 0xFF, 0, 0, 0, 0x01, 0x00, 0], length: 256, direction: .fromDevice), expected)
    }

    @Test func changeableAndDefaultValues() {
        // Changeable: WCE (volatile cache present) and D_SENSE; the block descriptor is all zero.
        expectData(plan([0x1A, 0x08, 0x48, 0x00, 0xFF, 0x00], length: 255, direction: .fromDevice),
                   [0x17, 0x00, 0x10, 0x00, 0x08, 0x12, 0x04] + [UInt8](repeating: 0, count: 17))
        expectData(plan([0x1A, 0x08, 0x4A, 0x00, 0xFF, 0x00], length: 255, direction: .fromDevice),
                   [0x0F, 0x00, 0x10, 0x00, 0x0A, 0x0A, 0x04] + [UInt8](repeating: 0, count: 9))
        // Without a volatile write cache WCE is neither set nor changeable.
        expectData(plan([0x1A, 0x08, 0x48, 0x00, 0xFF, 0x00], length: 255, direction: .fromDevice, facts: Fixture.facts(rich: false)),
                   [0x17, 0x00, 0x10, 0x00, 0x08, 0x12] + [UInt8](repeating: 0, count: 18))
        // Default D_SENSE is 0.
        expectData(plan([0x1A, 0x08, 0x8A, 0x00, 0xFF, 0x00], length: 255, direction: .fromDevice), [0x0F, 0x00, 0x10, 0x00] + control)
    }

    @Test func savedValuesNotSupported() {
        expectCheck(plan([0x1A, 0x00, 0xC8, 0x00, 0xFF, 0x00], length: 255, direction: .fromDevice), fixedSense(0x05, 0x39, 0x00))
    }

    @Test func unsupportedPageAndSubpage() {
        expectCheck(plan([0x1A, 0x00, 0x1C, 0x00, 0xFF, 0x00], length: 255, direction: .fromDevice), invalidCDB(byte: 2, bit: 5))
        expectCheck(plan([0x1A, 0x00, 0x08, 0x01, 0xFF, 0x00], length: 255, direction: .fromDevice), invalidCDB(byte: 3))
    }

    @Test func modeSelectWCEBecomesSetFeatures() {
        var state = LogicalUnitState()
        let parameters: [UInt8] = [0, 0, 0, 0, 0x08, 0x12] + [UInt8](repeating: 0, count: 18)  // WCE cleared
        let result = plan([0x15, 0x10, 0, 0, UInt8(parameters.count), 0], dataOut: parameters, length: parameters.count,
                          direction: .toDevice, writeCache: true, state: &state)
        #expect(result.operations == [.setVolatileWriteCache(enabled: false)])
        guard let context = result.context else { return }
        // Success: WCE is shared by every LUN (NVMe's cache is the controller's), so the others
        // get UNIT ATTENTION, MODE PARAMETERS CHANGED (SPC-5: 6h, 2Ah/01h); this unit does not.
        let response = complete(context, results: [NVMeResult(operationIndex: 0, status: .success)],
                                facts: Fixture.facts(), state: &state)
        #expect(response.status == .good)
        #expect(response.residual == 0)   // the list was transferred, though Set Features moves none of it
        #expect(response.unitAttentionForOtherLUNs == SenseCondition(.unitAttention, AdditionalSense(0x2A, 0x01)))
        #expect(state.pendingUnitAttention == nil)
        // A failed Set Features changed nothing: no unit attention for anyone.
        let failed = complete(context, results: [NVMeResult(operationIndex: 0, status: CompletionStatus(.internalError))],
                              facts: Fixture.facts(), state: &state)
        #expect(failed.status == .checkCondition)
        #expect(failed.unitAttentionForOtherLUNs == nil)
        // MODE SENSE reports the controller's WCE as the engine passes it.
        expectData(plan([0x1A, 0x08, 0x08, 0x00, 0xFF, 0x00], length: 255, direction: .fromDevice, writeCache: false, state: &state),
                   [0x17, 0x00, 0x10, 0x00, 0x08, 0x12] + [UInt8](repeating: 0, count: 18))
        // WCE 0 when it already is 0 needs no Set Features and changes nothing shared.
        let same = plan([0x15, 0x10, 0, 0, UInt8(parameters.count), 0], dataOut: parameters, length: parameters.count,
                        direction: .toDevice, writeCache: false, state: &state)
        #expect(same.response?.status == .good)
        #expect(same.response?.unitAttentionForOtherLUNs == nil)
    }

    @Test func establishKeepsAPendingUnitAttention() {
        // One unit attention waits at a time; POWER ON RESET (29h/00h) already tells the
        // initiator its cached parameters may be stale, so MODE PARAMETERS CHANGED does not replace it.
        var state = LogicalUnitState(pendingUnitAttention: .powerOnReset)
        state.establish(SenseCondition(.unitAttention, AdditionalSense(0x2A, 0x01)))
        expectCheck(plan([0, 0, 0, 0, 0, 0], state: &state), fixedSense(0x06, 0x29, 0x00))
        state.establish(SenseCondition(.unitAttention, AdditionalSense(0x2A, 0x01)))
        expectCheck(plan([0, 0, 0, 0, 0, 0], state: &state), fixedSense(0x06, 0x2A, 0x01))
        #expect(plan([0, 0, 0, 0, 0, 0], state: &state).response?.status == .good)
    }

    @Test func modeSelectDSenseSwitchesSenseFormat() {
        var state = LogicalUnitState()
        let parameters: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0x0A, 0x0A, 0x06, 0x10, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0]
        let result = plan([0x55, 0x10, 0, 0, 0, 0, 0, 0, UInt8(parameters.count), 0], dataOut: parameters,
                          length: parameters.count, direction: .toDevice, state: &state)
        // GOOD, and the 20-byte list counts as transferred: residual 0 (SAM-5).
        #expect(result.response == SCSIResponse(status: .good, residual: 0))
        #expect(state.descriptorSense)
        // Now errors come in descriptor format: READ(10) past the end.
        let error = plan([0x28, 0, 0, 0, 0x10, 0, 0, 0, 1, 0], length: 512, direction: .fromDevice, state: &state)
        #expect(error.response?.sense == [0x72, 0x05, 0x21, 0x00, 0, 0, 0, 0])
    }

    @Test func modeSelectErrors() {
        let page: [UInt8] = [0, 0, 0, 0, 0x08, 0x12, 0x04] + [UInt8](repeating: 0, count: 17)
        func select(_ cdb: [UInt8], _ data: [UInt8]) -> TranslationPlan {
            plan(cdb, dataOut: data, length: data.count, direction: .toDevice)
        }
        // SP=1: saving is not supported.
        expectCheck(select([0x15, 0x11, 0, 0, 24, 0], page), invalidCDB(byte: 1, bit: 0))
        // PF=0.
        expectCheck(select([0x15, 0x00, 0, 0, 24, 0], page), invalidCDB(byte: 1, bit: 4))
        // A non-changeable bit (RCD, byte 2 bit 0 of the page, byte 6 of the list).
        var rcd = page
        rcd[6] |= 0x01
        expectCheck(select([0x15, 0x10, 0, 0, 24, 0], rcd), invalidParameter(byte: 6, bit: 0))
        // Wrong page length.
        var length = page
        length[5] = 0x10
        expectCheck(select([0x15, 0x10, 0, 0, 24, 0], length), invalidParameter(byte: 5))
        // Unknown page.
        var unknown = page
        unknown[4] = 0x1C
        expectCheck(select([0x15, 0x10, 0, 0, 24, 0], unknown), invalidParameter(byte: 4, bit: 5))
        // Page running past the list.
        expectCheck(select([0x15, 0x10, 0, 0, 10, 0], Array(page[0..<10])), fixedSense(0x05, 0x1A, 0x00))
        // Block descriptor with another block length.
        let descriptor: [UInt8] = [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x10, 0x00]
        expectCheck(select([0x15, 0x10, 0, 0, 12, 0], descriptor), invalidParameter(byte: 9))
        // The same block length is accepted.
        let same: [UInt8] = [0, 0, 0, 8, 0, 0, 0x10, 0, 0, 0, 0x02, 0x00]
        #expect(select([0x15, 0x10, 0, 0, 12, 0], same).response?.status == .good)
    }
}
