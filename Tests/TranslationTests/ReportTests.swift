import NVMe
import Testing
import TestSupport
@testable import Translation

@Suite struct ReportLUNsTests {
    let two = Fixture.facts(namespaces: [Fixture.namespace(), Fixture.namespace()])

    @Test func oneLUNPerNamespace() {
        // LUN LIST LENGTH 16, reserved, then LUN 0 and LUN 1 in peripheral device addressing.
        let expected: [UInt8] = [0, 0, 0, 0x10, 0, 0, 0, 0] + [0, 0, 0, 0, 0, 0, 0, 0] + [0, 1, 0, 0, 0, 0, 0, 0]
        expectData(plan([0xA0, 0, 0x00, 0, 0, 0, 0, 0, 1, 0, 0, 0], length: 256, direction: .fromDevice, facts: two), expected)
        expectData(plan([0xA0, 0, 0x02, 0, 0, 0, 0, 0, 1, 0, 0, 0], length: 256, direction: .fromDevice, facts: two), expected)
        // Any LUN may ask, present or not.
        expectData(plan([0xA0, 0, 0x00, 0, 0, 0, 0, 0, 1, 0, 0, 0], lun: 9, length: 256, direction: .fromDevice, facts: two), expected)
        // Well-known LUNs only: none.
        expectData(plan([0xA0, 0, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0], length: 256, direction: .fromDevice, facts: two), [0, 0, 0, 0, 0, 0, 0, 0])
        // Truncated to the allocation length, without error.
        expectData(plan([0xA0, 0, 0x00, 0, 0, 0, 0, 0, 0, 4, 0, 0], length: 256, direction: .fromDevice, facts: two), [0, 0, 0, 0x10])
        expectCheck(plan([0xA0, 0, 0x10, 0, 0, 0, 0, 0, 1, 0, 0, 0], length: 256, direction: .fromDevice), invalidCDB(byte: 2))
    }

    @Test func flatSpaceAbove255() {
        #expect(ReportLUNs.encode(300) == [0x41, 0x2C, 0, 0, 0, 0, 0, 0])
    }
}

@Suite struct SupportedOperationCodesTests {
    func rsoc(_ options: UInt8, opcode: UInt8 = 0, serviceAction: UInt16 = 0, facts: DeviceFacts = Fixture.facts()) -> TranslationPlan {
        plan([0xA3, 0x0C, options, opcode, UInt8(serviceAction >> 8), UInt8(serviceAction & 0xFF), 0, 0, 0x10, 0, 0, 0],
             length: 4096, direction: .fromDevice, facts: facts)
    }

    @Test func oneCommand() {
        // SUPPORT 011b, CDB SIZE 10, usage data: READ(10) with DPO/FUA, LBA, group, length.
        expectData(rsoc(0x01, opcode: 0x28), [0, 0x03, 0, 0x0A, 0x28, 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F, 0xFF, 0xFF, 0x00])
        // With the command timeouts descriptor (CTDP set).
        expectData(rsoc(0x81, opcode: 0x28), [0, 0x83, 0, 0x0A, 0x28, 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F, 0xFF, 0xFF, 0x00]
            + [0x00, 0x0A, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0])
        // Not supported: SUPPORT 001b.
        expectData(rsoc(0x01, opcode: 0x85), [0, 0x01, 0, 0])
    }

    @Test func serviceActionCommand() {
        // SPC-5 6.35.3: the usage data carries the service action code itself in the SERVICE
        // ACTION field's place (10h here, 0Ch for MAINTENANCE IN below), not a mask.
        expectData(rsoc(0x02, opcode: 0x9E, serviceAction: 0x10),
                   [0, 0x03, 0, 0x10, 0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0])
        expectData(rsoc(0x02, opcode: 0x9E, serviceAction: 0x12), [0, 0x01, 0, 0])
        // Option 1 for an opcode with service actions, option 2 for one without: INVALID FIELD IN CDB.
        expectCheck(rsoc(0x01, opcode: 0x9E), invalidCDB(byte: 2, bit: 2))
        expectCheck(rsoc(0x02, opcode: 0x28), invalidCDB(byte: 2, bit: 2))
        expectCheck(rsoc(0x05), invalidCDB(byte: 2, bit: 2))
        // Option 3 takes either kind of opcode.
        expectData(rsoc(0x03, opcode: 0x00), [0, 0x03, 0, 0x06, 0x00, 0, 0, 0, 0, 0])
        expectData(rsoc(0x03, opcode: 0x00, serviceAction: 1), [0, 0x01, 0, 0])
        expectData(rsoc(0x03, opcode: 0xA3, serviceAction: 0x0C),
                   [0, 0x03, 0, 0x0C, 0xA3, 0x0C, 0x87, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0])
    }

    @Test func allCommands() {
        let rich = rsoc(0x00).response?.dataIn ?? []
        #expect(rich.count == 4 + 8 * 32)
        #expect(Array(rich[0..<4]) == [0, 0, 1, 0x00])
        // The first descriptor: TEST UNIT READY, CDB length 6.
        #expect(Array(rich[4..<12]) == [0x00, 0, 0, 0, 0, 0, 0, 6])
        // READ CAPACITY(16) is listed with SERVACTV and its service action.
        let descriptors = stride(from: 4, to: rich.count, by: 8).map { Array(rich[$0..<($0 + 8)]) }
        #expect(descriptors.contains([0x9E, 0, 0, 0x10, 0, 0x01, 0, 16]))
        // A bare controller: no VERIFY (3), UNMAP or COMPARE AND WRITE.
        #expect(rsoc(0x00, facts: Fixture.facts(rich: false)).response?.dataIn.count == 4 + 8 * 27)
    }
}
