import NVMe
import Testing
import TestSupport
@testable import Translation

@Suite struct ReadCapacityTests {
    @Test func readCapacity10() {
        // SBC-4 5.20: last LBA 0FFFh, block length 512.
        expectData(plan([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], length: 8, direction: .fromDevice),
                   [0x00, 0x00, 0x0F, 0xFF, 0x00, 0x00, 0x02, 0x00])
    }

    @Test func readCapacity10Saturates() {
        let facts = Fixture.facts(namespaces: [Fixture.namespace(blocks: 0x1_0000_0001, shift: 12)])
        expectData(plan([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], length: 8, direction: .fromDevice, facts: facts),
                   [0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x10, 0x00])
    }

    @Test func readCapacity10ObsoleteFieldsRefused() {
        expectCheck(plan([0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0], length: 8, direction: .fromDevice), invalidCDB(byte: 5, bit: 0))
        expectCheck(plan([0x25, 0, 0, 0, 0, 0, 0, 0, 1, 0], length: 8, direction: .fromDevice), invalidCDB(byte: 8, bit: 0))
    }

    @Test func readCapacity16() {
        let cdb: [UInt8] = [0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0]
        let big = Fixture.namespace(blocks: 0x1_0000_0001, shift: 12)
        // RETURNED LOGICAL BLOCK ADDRESS 1_0000_0000h, block length 4096, LBPME (DSM supported).
        expectData(plan(cdb, length: 32, direction: .fromDevice, facts: Fixture.facts(namespaces: [big])),
                   [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x80, 0] + [UInt8](repeating: 0, count: 16))
        var zeroing = Fixture.namespace()
        zeroing.dlfeat = 1
        // LBPME and LBPRZ.
        expectData(plan(cdb, length: 32, direction: .fromDevice, facts: Fixture.facts(namespaces: [zeroing])),
                   [0, 0, 0, 0, 0, 0, 0x0F, 0xFF, 0, 0, 0x02, 0, 0, 0, 0xC0, 0] + [UInt8](repeating: 0, count: 16))
        // No deallocation: neither bit.
        expectData(plan(cdb, length: 32, direction: .fromDevice, facts: Fixture.facts(rich: false)),
                   [0, 0, 0, 0, 0, 0, 0x0F, 0xFF, 0, 0, 0x02, 0, 0, 0, 0x00, 0] + [UInt8](repeating: 0, count: 16))
        // Allocation length 12 truncates.
        var short = cdb
        short[13] = 12
        #expect(plan(short, length: 32, direction: .fromDevice).response?.dataIn.count == 12)
    }

    @Test func unknownServiceActionPointsAtIt() {
        // 9Eh/12h (GET LBA STATUS) is not supported: the SERVICE ACTION field is invalid.
        expectCheck(plan([0x9E, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], length: 32, direction: .fromDevice),
                    invalidCDB(byte: 1, bit: 4))
    }
}
