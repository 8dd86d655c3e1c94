import NVMe
import Testing
import TestSupport
@testable import Translation

/// The data phase a CDB describes by its own fields (SBC-4, SPC-5), which a transport that sizes
/// its buffers by another length (TCMU's iovecs, iSCSI's EDTL) runs the command with.
@Suite struct DataPhaseTests {
    let facts = Fixture.facts(namespaces: [Fixture.namespace(), Fixture.namespace(shift: 12)])

    @Test func blockCommandsMoveTransferLengthTimesTheBlockSize() {
        // SBC-4 5.16 READ (10): TRANSFER LENGTH in blocks; LUN 1 has 4096-byte blocks.
        #expect(dataPhase(cdb: [0x28, 0, 0, 0, 0, 0, 0, 0, 3, 0], lun: 0, facts: facts) == DataPhase(direction: .fromDevice, length: 1536))
        #expect(dataPhase(cdb: [0x28, 0, 0, 0, 0, 0, 0, 0, 3, 0], lun: 1, facts: facts) == DataPhase(direction: .fromDevice, length: 12288))
        // READ (6) / WRITE (6): TRANSFER LENGTH 0 means 256 blocks (SBC-4 5.15).
        #expect(dataPhase(cdb: [0x0A, 0, 0, 0, 0, 0], lun: 0, facts: facts) == DataPhase(direction: .toDevice, length: 256 * 512, writesBlocks: true))
        #expect(dataPhase(cdb: [0xAA, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0], lun: 0, facts: facts) == DataPhase(direction: .toDevice, length: 1024, writesBlocks: true))
        // WRITE (10) of 0 blocks: no data phase, but its data-out would be blocks.
        #expect(dataPhase(cdb: [0x2A, 0, 0, 0, 0, 0, 0, 0, 0, 0], lun: 0, facts: facts) == DataPhase(direction: .none, length: 0, writesBlocks: true))
        // READ (16) of 0 blocks moves nothing: no data phase.
        #expect(dataPhase(cdb: [0x88] + [UInt8](repeating: 0, count: 15), lun: 0, facts: facts) == DataPhase(direction: .none, length: 0))
        // A block command to a LUN that does not exist has no length (translation refuses it).
        #expect(dataPhase(cdb: [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], lun: 5, facts: facts).length == nil)
    }

    @Test func verifyMovesDataOnlyWithByteCheck() {
        // SBC-4 5.29 BYTCHK: 00b no data-out, 01b the blocks to compare, 11b one block.
        #expect(dataPhase(cdb: [0x2F, 0, 0, 0, 0, 0, 0, 0, 4, 0], lun: 0, facts: facts) == DataPhase(direction: .none, length: 0))
        #expect(dataPhase(cdb: [0xAF, 0x02, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0], lun: 0, facts: facts) == DataPhase(direction: .toDevice, length: 2048))
        #expect(dataPhase(cdb: [0x2F, 0x06, 0, 0, 0, 0, 0, 0, 4, 0], lun: 0, facts: facts) == DataPhase(direction: .toDevice, length: 512))
    }

    @Test func parameterAndAllocationLengths() {
        // WRITE SAME: one block (SBC-4 5.50); WRITE SAME (16) with NDOB: none (5.51).
        #expect(dataPhase(cdb: [0x41, 0, 0, 0, 0, 0, 0, 0, 8, 0], lun: 1, facts: facts) == DataPhase(direction: .toDevice, length: 4096))
        #expect(dataPhase(cdb: [0x93, 0x01] + [UInt8](repeating: 0, count: 11) + [8, 0, 0], lun: 0, facts: facts) == DataPhase(direction: .none, length: 0))
        // COMPARE AND WRITE: verify data and write data, 2 x NUMBER OF LOGICAL BLOCKS (SBC-4 5.3).
        #expect(dataPhase(cdb: [0x89] + [UInt8](repeating: 0, count: 12) + [2, 0, 0], lun: 0, facts: facts)
            == DataPhase(direction: .toDevice, length: 2048, writesBlocks: true))
        // UNMAP and MODE SELECT (10): PARAMETER LIST LENGTH; MODE SELECT (6): one byte.
        #expect(dataPhase(cdb: [0x42, 0, 0, 0, 0, 0, 0, 0x01, 0x18, 0], lun: 0, facts: facts) == DataPhase(direction: .toDevice, length: 280))
        #expect(dataPhase(cdb: [0x15, 0x10, 0, 0, 24, 0], lun: 0, facts: facts) == DataPhase(direction: .toDevice, length: 24))
        // INQUIRY: two-byte ALLOCATION LENGTH (SPC-5 6.7), answered even for an absent LUN.
        #expect(dataPhase(cdb: [0x12, 0, 0, 0x01, 0x00, 0], lun: 7, facts: facts) == DataPhase(direction: .fromDevice, length: 256))
        #expect(dataPhase(cdb: [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], lun: 0, facts: facts) == DataPhase(direction: .fromDevice, length: 8))
        #expect(dataPhase(cdb: [0x9E, 0x10] + [UInt8](repeating: 0, count: 8) + [0, 0, 0, 32, 0, 0], lun: 0, facts: facts)
            == DataPhase(direction: .fromDevice, length: 32))
        #expect(dataPhase(cdb: [0x00, 0, 0, 0, 0, 0], lun: 0, facts: facts) == DataPhase(direction: .none, length: 0))
    }

    @Test func unknownCommandsKeepTheTablesDirectionAndHaveNoLength() {
        // PERSISTENT RESERVE OUT carries data-out, ORWRITE too; READ DEFECT DATA data-in.
        #expect(dataPhase(cdb: [0x5F, 0, 0, 0, 0, 0, 0, 0, 24, 0], lun: 0, facts: facts) == DataPhase(direction: .toDevice, length: nil))
        #expect(dataPhase(cdb: [0x8B] + [UInt8](repeating: 0, count: 15), lun: 0, facts: facts) == DataPhase(direction: .toDevice, length: nil))
        #expect(dataPhase(cdb: [0x37, 0, 0, 0, 0, 0, 0, 0, 4, 0], lun: 0, facts: facts) == DataPhase(direction: .fromDevice, length: nil))
        // A CDB whose length does not match its opcode's group: no length.
        #expect(dataPhase(cdb: [0x28, 0, 0, 0, 0, 0], lun: 0, facts: facts).length == nil)
    }

    @Test func theDirectionTable() {
        // SBC-4 / SPC-5: these send data to the device; any other command with data receives it.
        let dataOut: [UInt8] = [0x0A, 0x2A, 0xAA, 0x8A, 0x2E, 0xAE, 0x8E, 0x2F, 0xAF, 0x8F, 0x41, 0x93, 0x42,
                                0x15, 0x55, 0x89, 0x8B, 0x9C, 0x04, 0x1D, 0x3B, 0x4C, 0x5F]
        for opcode in 0...255 {
            let cdb = [UInt8(opcode)] + [UInt8](repeating: 0, count: 15)
            #expect(transferDirection(cdb: cdb, transferLength: 512) == (dataOut.contains(UInt8(opcode)) ? .toDevice : .fromDevice),
                    "opcode \(opcode)")
            #expect(transferDirection(cdb: cdb, transferLength: 0) == .none, "no bytes, no data phase")
        }
        #expect(transferDirection(cdb: [], transferLength: 512) == .none)
    }

    /// The property the transport relies on: a task whose buffer has exactly the data phase's
    /// length and direction is never refused for its buffer (INVALID FIELD IN CDB at the length
    /// field), whatever the command's fields say.
    @Test(arguments: [
        [0x28, 0, 0, 0, 0, 0, 0, 0, 5, 0], [0x2A, 0, 0, 0, 0, 0, 0, 0, 5, 0], [0x08, 0, 0, 0, 0, 0], [0x0A, 0, 0, 0, 7, 0],
        [0xA8, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0], [0xAE, 0x02, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0], [0xAF, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0],
        [0x2F, 0x02, 0, 0, 0, 0, 0, 0, 2, 0], [0x8E, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0],
        [0x41, 0, 0, 0, 0, 0, 0, 0, 4, 0], [0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0],
        [0x12, 0, 0, 0, 96, 0], [0x12, 0x01, 0xB0, 0, 64, 0], [0x1A, 0, 0x3F, 0, 200, 0], [0x5A, 0, 0x3F, 0, 0, 0, 0, 0, 200, 0],
        [0x03, 0, 0, 0, 18, 0], [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0],
        [0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0], [0xA3, 0x0C, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],
        [0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0x00, 0, 0, 0, 0, 0], [0x1B, 0, 0, 0, 1, 0],
    ] as [[UInt8]])
    func aBufferOfThePhasesLengthIsNeverRefusedForItsSize(_ cdb: [UInt8]) {
        let phase = dataPhase(cdb: cdb, lun: 0, facts: facts)
        let length = phase.length ?? 0
        let dataOut = phase.direction == .toDevice ? [UInt8](repeating: 0, count: length) : nil
        var state = LogicalUnitState()
        let response = plan(cdb, dataOut: dataOut, length: length, direction: phase.direction, facts: facts, state: &state)
        if let sense = response.response?.sense, !sense.isEmpty {
            let refusedForLength = sense[12] == 0x24 && sense[15] & 0x80 != 0
                && Int(sense[16]) << 8 | Int(sense[17]) == CommandTable.lookup(cdb)?.lengthField
            #expect(!refusedForLength, "\(cdb.map { String($0, radix: 16) }) refused for its \(length)-byte buffer")
        }
        // And the length is not too generous: one byte less of data-out, or of a READ's data-in,
        // is refused at the length field.
        guard length > 0, phase.direction == .toDevice || [0x08, 0x28, 0xA8].contains(cdb[0]) else { return }
        let short = plan(cdb, dataOut: dataOut.map { Array($0.dropLast()) }, length: length - 1, direction: phase.direction,
                         facts: facts, state: &state)
        let sense = short.response?.sense ?? []
        #expect(sense.count >= 18 && sense[12] == 0x24 && Int(sense[16]) << 8 | Int(sense[17]) == CommandTable.lookup(cdb)?.lengthField)
    }
}
