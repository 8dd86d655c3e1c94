import RingSupport
import Testing
import Translation
@testable import TCMUExport

/// Commands whose iovecs (the initiator's expected transfer length, iSCSI's EDTL: LIO passes it to
/// a user backstore unchecked) differ from the CDB's own length. SAM-5 lets the two differ and
/// leaves the outcome to the transport; RFC 7143 11.4.5.1 reports it as a residual, an underflow
/// when the command moved less than expected, an overflow when it asked for more. The CDB decides
/// what runs; the iovecs get what fits (`DataPhasePlan`).
@Suite(.serialized) struct ResidualTests {
    /// A served ring with its first TEST UNIT READY (POWER ON RESET) behind it and LBA 0 and 1
    /// holding 'a' then 'A'.
    func ring() throws -> ServedRing {
        let ring = try ServedRing()
        _ = try ring.run([0, 0, 0, 0, 0, 0])
        let data = ring.image.data(1024)
        for index in 0..<1024 { ring.image.bytes[data + index] = index < 512 ? UInt8(ascii: "a") : UInt8(ascii: "A") }
        #expect(try ring.run([0x2A, 0, 0, 0, 0, 0, 0, 0, 2, 0], iovecs: [(data, 1024)]).status == 0)
        return ring
    }

    func read(_ ring: ServedRing, blocks: UInt8 = 2) throws -> [UInt8] {
        let data = ring.image.data(512 * Int(blocks))
        #expect(try ring.run([0x28, 0, 0, 0, 0, 0, 0, 0, blocks, 0], iovecs: [(data, 512 * Int(blocks))]).status == 0)
        return ring.image.bytes(at: data, count: 512 * Int(blocks))
    }

    @Test func dataInUnderflowIsReportedAsReadLenAndTheRestZeroed() throws {
        // READ (10) of one block with 10000 bytes expected: the block, then read_len 512, which
        // LIO turns into an underflow residual of 9488 (RFC 7143 11.4.5.1, U bit).
        let ring = try ring()
        let data = ring.image.data(10000, fill: 0xEE)
        let response = try ring.run([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], iovecs: [(data, 4096), (data + 4096, 5904)])
        #expect(response.status == 0 && response.uflags == 0x2 && response.readLength == 512)
        #expect(ring.image.bytes(at: data, count: 512).allSatisfy { $0 == UInt8(ascii: "a") })
        #expect(ring.image.bytes(at: data + 512, count: 10000 - 512).allSatisfy { $0 == 0 },
                "nothing but the block (no older bytes of the data area) reaches the initiator")
    }

    @Test func dataInOverflowRunsTheCommandAndFillsTheIovecs() throws {
        // READ (10) of two blocks with one block expected, and of one block with 200 bytes
        // expected: GOOD with the first bytes of the data (FCP-4 9.4.2 a: data beyond the
        // expected length is not transferred). TCMU has no field for the overflow residual.
        let ring = try ring()
        let one = ring.image.data(512)
        let two = try ring.run([0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0], iovecs: [(one, 512)])
        #expect(two.status == 0 && two.uflags == 0)
        #expect(ring.image.bytes(at: one, count: 512).allSatisfy { $0 == UInt8(ascii: "a") })
        let part = ring.image.data(200)
        let partial = try ring.run([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], iovecs: [(part, 200)])
        #expect(partial.status == 0 && partial.uflags == 0)
        #expect(ring.image.bytes(at: part, count: 200).allSatisfy { $0 == UInt8(ascii: "a") })
        // No data expected at all (iSCSI EDTL 0 clears the read flag, so no iovecs): GOOD.
        #expect(try ring.run([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]).status == 0)
    }

    @Test func blockDataOutOfAnotherLengthIsRefusedAndNothingIsWritten() throws {
        // WRITE (10) of one block with two blocks of data-out, of two blocks with one, of one
        // block with 200 bytes and with none: the initiator's data is not the blocks its CDB
        // names, so nothing is written: CHECK CONDITION, ILLEGAL REQUEST, INVALID FIELD IN CDB with
        // the field pointer at TRANSFER LENGTH (byte 7), as the engine answers a task whose
        // data-out buffer does not match its CDB, and as LIO's target_cmd_size_check refused a
        // write data CDB of mismatched length.
        let ring = try ring()
        let data = ring.image.data(1024, fill: UInt8(ascii: "b"))
        for (blocks, iovecs) in [(UInt8(1), [(data, 1024)]), (2, [(data, 512)]), (1, [(data, 200)]), (1, [])] {
            let response = try ring.run([0x2A, 0, 0, 0, 0, 0, 0, 0, blocks, 0], iovecs: iovecs)
            #expect(response.status == 0x02)
            #expect(response.sense[2] & 0x0F == 0x05 && response.sense[12] == 0x24 && response.sense[13] == 0)
            #expect(response.sense[15] == 0xC0 && response.sense[17] == 7, "SKSV, C/D: the CDB's TRANSFER LENGTH")
        }
        // COMPARE AND WRITE of 0 blocks (SBC-4 5.3: no error by itself) with data-out: the same.
        let caw = try ring.run([0x89] + [UInt8](repeating: 0, count: 15), iovecs: [(data, 1024)])
        #expect(caw.status == 0x02 && caw.sense[12] == 0x24 && caw.sense[17] == 13)
        let media = try read(ring)
        #expect(media[0..<512].allSatisfy { $0 == UInt8(ascii: "a") } && media[512..<1024].allSatisfy { $0 == UInt8(ascii: "A") })
    }

    @Test func parameterDataBeyondTheCDBsLengthIsNotRead() throws {
        // UNMAP with PARAMETER LIST LENGTH 24 (one descriptor: LBA 0, 1 block) and 512 bytes of
        // data-out whose excess would describe LBA 1: only the 24 bytes the CDB names are the
        // parameter list (the rest was never requested), so LBA 1 keeps its data.
        let ring = try ring()
        let data = ring.image.data(512)
        let list: [UInt8] = [0, 22, 0, 16, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 8) + [0, 0, 0, 1, 0, 0, 0, 0]
        for (index, byte) in list.enumerated() { ring.image.bytes[data + index] = byte }
        let unmap = try ring.run([0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], iovecs: [(data, 512)])
        #expect(unmap.status == 0)
        #expect(try read(ring)[512..<1024].allSatisfy { $0 == UInt8(ascii: "A") })
        // Fewer bytes than PARAMETER LIST LENGTH: refused at the length field (byte 7).
        let short = try ring.run([0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], iovecs: [(data, 16)])
        #expect(short.status == 0x02 && short.sense[12] == 0x24 && short.sense[17] == 7)
    }

    @Test func allocationLengthBelowTheIovecsIsAnUnderflow() throws {
        // INQUIRY with ALLOCATION LENGTH 36 and 96 bytes expected: 36 bytes and read_len 36.
        let ring = try ring()
        let data = ring.image.data(96, fill: 0xEE)
        let response = try ring.run([0x12, 0, 0, 0, 36, 0], iovecs: [(data, 96)])
        #expect(response.status == 0 && response.uflags == 0x2 && response.readLength == 36)
        #expect(ring.image.bytes(at: data + 36, count: 60).allSatisfy { $0 == 0 })
    }

    typealias Fields = (direction: DataDirection, runLength: Int, gather: Int, refused: Bool)

    @Test func thePlan() {
        let read = DataPhase(direction: .fromDevice, length: 4096)
        // Data-in runs with the CDB's length, up to the buffer; copies out at most the iovecs.
        #expect(DataPhasePlan(phase: read, given: 512, capacity: 8192).fields == (.fromDevice, 4096, 0, false))
        #expect(DataPhasePlan(phase: read, given: 512, capacity: 8192).scattered(transferred: 4096, given: 512) == 512)
        #expect(DataPhasePlan(phase: read, given: 8192, capacity: 8192).scattered(transferred: 4096, given: 8192) == 4096)
        #expect(DataPhasePlan(phase: read, given: 0, capacity: 1024).runLength == 1024,
                "above the buffer: the engine refuses the short buffer (SBC-4 MAXIMUM TRANSFER LENGTH)")
        // Parameter data-out: the CDB's length from the iovecs, or refused when they hold less.
        let list = DataPhase(direction: .toDevice, length: 1024)
        #expect(DataPhasePlan(phase: list, given: 4096, capacity: 8192).fields == (.toDevice, 1024, 1024, false))
        #expect(DataPhasePlan(phase: list, given: 1023, capacity: 8192).refused)
        // Above the buffer (not run in pieces): the whole buffer, nothing gathered, for translation to refuse.
        #expect(DataPhasePlan(phase: list, given: 4096, capacity: 512).fields == (.toDevice, 512, 0, false))
        #expect(DataPhasePlan(phase: DataPhase(direction: .toDevice, length: 4096, writesBlocks: true), given: 4096, capacity: 512).fields
                == (.toDevice, 512, 0, false))
        // Blocks: exactly the CDB's length or refused.
        let blocks = DataPhase(direction: .toDevice, length: 1024, writesBlocks: true)
        #expect(DataPhasePlan(phase: blocks, given: 1024, capacity: 8192).fields == (.toDevice, 1024, 1024, false))
        #expect(DataPhasePlan(phase: blocks, given: 1536, capacity: 8192).refused)
        #expect(DataPhasePlan(phase: DataPhase(direction: .none, length: 0, writesBlocks: true), given: 512, capacity: 8192).refused,
                "a WRITE of 0 blocks sent with data")
        #expect(!DataPhasePlan(phase: DataPhase(direction: .none, length: 0), given: 512, capacity: 8192).refused,
                "a READ of 0 blocks: the data-in iovecs are left unfilled (zeroed)")
        // No data phase in the CDB: nothing runs whatever the iovecs hold.
        #expect(DataPhasePlan(phase: DataPhase(direction: .none, length: 0), given: 512, capacity: 8192).fields == (.none, 0, 0, false))
        // A command translation does not know: the iovecs as they are.
        #expect(DataPhasePlan(phase: DataPhase(direction: .toDevice, length: nil), given: 24, capacity: 8192).fields == (.toDevice, 24, 24, false))
        #expect(DataPhasePlan(phase: DataPhase(direction: .fromDevice, length: nil), given: 0, capacity: 8192).fields == (.none, 0, 0, false))
        #expect(DataPhasePlan(phase: DataPhase(direction: .toDevice, length: nil), given: 9000, capacity: 8192).fields == (.toDevice, 8192, 8192, false),
                "never more than the buffer")
    }
}

extension DataPhasePlan {
    var fields: ResidualTests.Fields { (direction, runLength, gather, refused) }
}
