import Testing
@testable import Translation

@Suite struct InlineCDBTests {
    @Test func holdsUpTo16Bytes() throws {
        let read16: [UInt8] = [0x88, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 8, 0, 0]
        let cdb = try #require(InlineCDB(read16))
        #expect(cdb.count == 16 && cdb.bytes == read16)
        #expect(InlineCDB(read16 + [0]) == nil)
        #expect(InlineCDB([UInt8]())?.count == 0)
        #expect(cdb.description == "88 00 00 00 00 00 00 00 10 00 00 00 00 08 00 00")
    }

    @Test func equalityIsTheBytes() {
        let a: InlineCDB = [0x00, 0, 0, 0, 0, 0]
        let b: InlineCDB = [0x00, 0, 0, 0, 0, 0, 0]
        #expect(a != b)
        #expect(a == InlineCDB([0x00, 0, 0, 0, 0, 0]))
        #expect(Set([a, b, a]).count == 2)
    }

    @Test func translationReadsItWithoutAnArray() {
        let cdb: InlineCDB = [0x28, 0x08, 0, 0, 0, 0x10, 0, 0, 8, 0]
        let fast = cdb.withUnsafeBytes {
            translateBlockTransfer(cdb: $0, lun: 0, transferLength: 4096, direction: .fromDevice, facts: Fixture.facts(),
                                   state: LogicalUnitState())
        }
        #expect(fast == BlockTransfer(isWrite: false, nsid: 1, lba: 0x10, blocks: 8, fua: true))
        #expect(!cdb.withUnsafeBytes { needsDataOut(cdb: $0) })
    }
}
