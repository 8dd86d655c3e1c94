import DMAMapper
import MockNVMe
import NVMe
import Testing

/// ONCS (Identify Controller bytes 521:520, NVMe Base 2.0) as configured by
/// `MockConfiguration.optionalNVMCommands`, and what a controller without one of the optional
/// NVM commands does with it: the opcode is not one it has, so the command completes with
/// Invalid Command Opcode (SCT 0h, SC 01h) and has no effect. Entries are laid out by hand from
/// the NVM Command Set 1.0 command formats: opcode in CDW0 bits 7:0, SLBA in CDW11:CDW10, NLB
/// (0's based) in CDW12 bits 15:0; Dataset Management NR (0's based) in CDW10 bits 7:0 and the
/// attributes in CDW11 (bit 2 AD, deallocate).
@Suite("Optional NVM commands (ONCS)")
struct OptionalCommandTests {
    /// Compare 05h, Write Zeroes 08h, Dataset Management 09h, Verify 0Ch, with their ONCS bits.
    static let optional: [(opcode: UInt8, oncsBit: UInt16)] = [(0x05, 1 << 0), (0x08, 1 << 3), (0x09, 1 << 2), (0x0C, 1 << 7)]

    static func entry(opcode: UInt8, lba: UInt32, blocks: UInt16) -> SubmissionQueueEntry {
        var entry = SubmissionQueueEntry()
        entry.cdw0 = UInt32(opcode)
        entry.nsid = 1
        if opcode == 0x09 {
            entry.cdw10 = 0                 // NR 0: one range
            entry.cdw11 = 1 << 2            // AD
        } else {
            entry.cdw10 = lba
            entry.cdw12 = UInt32(blocks - 1)
        }
        return entry
    }

    /// Status Code Type and Status Code (completion DW3 bits 27:17), DNR and More aside.
    static func typeAndCode(_ completion: CompletionQueueEntry) -> UInt16 { (completion.statusAndPhase >> 1) & 0x7FF }

    static func identifyBytes(_ harness: Harness) throws -> [UInt8] {
        let buffer = try harness.allocate(4096)
        #expect(harness.execute(.identify(.controller), buffer: buffer).status.isSuccess)
        return Array(UnsafeRawBufferPointer(start: buffer.address, count: 4096))
    }

    @Test func oncsAndFusesReportTheConfiguration() throws {
        // Default: Compare | Dataset Management | Write Zeroes | Verify = 008Dh; FUSES 0001h.
        let full = try Self.identifyBytes(try Harness())
        #expect(Array(full[520...523]) == [0x8D, 0x00, 0x01, 0x00])
        let zeroesOnly = try Self.identifyBytes(try Harness.withQueuePair {
            $0.optionalNVMCommands = [.writeZeroes]
            $0.compareAndWrite = false
        })
        #expect(Array(zeroesOnly[520...523]) == [0x08, 0x00, 0x00, 0x00])
    }

    /// Each optional command in turn is left out while the others stay: it alone is refused and
    /// leaves the media as it was; the others still run (the ones that change data last).
    @Test(arguments: Self.optional)
    func aCommandLeftOutOfONCSIsAnInvalidOpcode(opcode left: UInt8, oncsBit: UInt16) throws {
        let harness = try Harness.withQueuePair {
            $0.optionalNVMCommands = OptionalNVMCommands(rawValue: 0x8D & ~oncsBit)
            $0.compareAndWrite = left != 0x05
        }
        let (written, pattern) = try harness.writePattern(lba: 0, blocks: 8, seed: 7)
        #expect(written.isSuccess)
        let buffer = try harness.allocate(4096)
        for opcode in [left] + [0x05, 0x0C, 0x08, 0x09].filter({ $0 != left }) {
            // The data: blocks 2-5 as written for Compare, one range (4 blocks at LBA 2) for DSM.
            let data: [UInt8] = opcode == 0x09 ? [0, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0] : Array(pattern[1024..<3072])
            data.withUnsafeBytes { buffer.address.copyMemory(from: $0.baseAddress!, byteCount: data.count) }
            let completion = harness.execute(Self.entry(opcode: opcode, lba: 2, blocks: 4), buffer: buffer, qid: 1)
            if opcode == left {
                #expect(Self.typeAndCode(completion) == 0x001, "opcode \(opcode): Invalid Command Opcode")
                let unchanged = harness.controller.mediaContents(nsid: 1, lba: 0, count: 8) == pattern
                #expect(unchanged, "opcode \(opcode) changed the media")
            } else {
                #expect(Self.typeAndCode(completion) == 0x000, "opcode \(opcode) should run")
            }
        }
    }

    /// Write Uncorrectable (04h) and Copy (19h) are optional commands the mock never has.
    @Test func commandsTheMockDoesNotImplementAreInvalidOpcodes() throws {
        let harness = try Harness.withQueuePair()
        for opcode: UInt8 in [0x04, 0x19] {
            #expect(Self.typeAndCode(harness.execute(Self.entry(opcode: opcode, lba: 0, blocks: 1), qid: 1)) == 0x001)
        }
    }

    /// Without Compare the first command of a fused Compare and Write is an opcode the
    /// controller lacks; ONCS and FUSES cannot disagree, as `validate()` checks.
    @Test func anOptionalCommandSetWithoutCompareRefusesFusedCompareAndWrite() {
        var configuration = MockConfiguration()
        configuration.optionalNVMCommands = [.writeZeroes]
        #expect(throws: MockConfigurationError(field: "compareAndWrite", value: "true",
                                               rule: "fused Compare and Write needs Compare (ONCS bit 0) in optionalNVMCommands")) {
            try configuration.validate()
        }
        configuration.compareAndWrite = false
        #expect(throws: Never.self) { try configuration.validate() }
        configuration.optionalNVMCommands = []
        #expect(throws: Never.self) { try configuration.validate() }
    }

    @Test func onlyImplementedCommandsMayBeAdvertised() {
        var configuration = MockConfiguration()
        configuration.optionalNVMCommands = [.compare, .writeUncorrectable, .copy]
        #expect(throws: MockConfigurationError(
            field: "optionalNVMCommands", value: "ONCS 0103h",
            rule: "ONCS bits 0102h name commands the mock does not implement "
                + "(it implements Compare, Dataset Management, Write Zeroes and Verify: 008Dh)")) {
            try configuration.validate()
        }
    }
}
