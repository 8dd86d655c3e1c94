import SeededRandom
import NVMe
import Testing
import TestSupport
@testable import Translation

@Suite struct ReadWriteTests {
    @Test func read6ZeroMeans256Blocks() {
        // SBC-4 5.16: LBA 21 bits (01_0203h... here 00_0102h), TRANSFER LENGTH 0 = 256 blocks.
        let result = plan([0x08, 0x00, 0x01, 0x02, 0x00, 0x00], length: 256 * 512, direction: .fromDevice)
        #expect(result.operations == [.read(nsid: 1, lba: 0x102, blocks: 256, fua: false, bufferOffset: 0)])
    }

    @Test func write6() {
        let result = plan([0x0A, 0x00, 0x00, 0x10, 0x02, 0x00], length: 1024, direction: .toDevice)
        #expect(result.operations == [.write(nsid: 1, lba: 0x10, blocks: 2, fua: false, bufferOffset: 0)])
    }

    @Test func read10WithFUAAndDPO() {
        let result = plan([0x28, 0x18, 0x00, 0x00, 0x0F, 0xF0, 0x00, 0x00, 0x10, 0x00], length: 16 * 512, direction: .fromDevice)
        #expect(result.operations == [.read(nsid: 1, lba: 0xFF0, blocks: 16, fua: true, bufferOffset: 0)])
    }

    @Test func readWrite12And16() {
        #expect(plan([0xA8, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0], length: 1024, direction: .fromDevice).operations
            == [.read(nsid: 1, lba: 1, blocks: 2, fua: false, bufferOffset: 0)])
        #expect(plan([0xAA, 0x08, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0], length: 1024, direction: .toDevice).operations
            == [.write(nsid: 1, lba: 1, blocks: 2, fua: true, bufferOffset: 0)])
        #expect(plan([0x88, 0, 0, 0, 0, 0, 0, 0, 0x0F, 0xFF, 0, 0, 0, 1, 0, 0], length: 512, direction: .fromDevice).operations
            == [.read(nsid: 1, lba: 0xFFF, blocks: 1, fua: false, bufferOffset: 0)])
        #expect(plan([0x8A, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0], length: 512, direction: .toDevice).operations
            == [.write(nsid: 1, lba: 0, blocks: 1, fua: true, bufferOffset: 0)])
    }

    @Test func zeroTransferLengthIsGoodWithoutCommands() {
        let response = plan([0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0]).response
        #expect(response == SCSIResponse(status: .good))
        #expect(plan([0x8A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).response?.status == .good)
    }

    /// SBC-4 4.5: a command that references a logical block beyond the capacity is LBA OUT OF
    /// RANGE; a zero TRANSFER LENGTH makes only the length no error. The fixture's last LBA is 0FFFh.
    @Test func zeroLengthAtTheCapacityIsOutOfRange() {
        for (lba, good) in [(UInt8(0x10), false), (0x0F, true)] {
            let last: UInt8 = good ? 0xFF : 0x00
            for cdb: [UInt8] in [[0x28, 0, 0, 0, lba, last, 0, 0, 0, 0],                       // READ (10)
                                 [0x8A, 0, 0, 0, 0, 0, 0, 0, lba, last, 0, 0, 0, 0, 0, 0],     // WRITE (16)
                                 [0x2F, 0, 0, 0, lba, last, 0, 0, 0, 0]] {                     // VERIFY (10)
                let result = plan(cdb)
                if good { #expect(result.response == SCSIResponse(status: .good), "\(cdb)") } else { expectCheck(result, lbaOutOfRangeSense) }
            }
            // SYNCHRONIZE CACHE (10) with NUMBER OF LOGICAL BLOCKS 0: from the LBA to the end.
            let sync = plan([0x35, 0, 0, 0, lba, last, 0, 0, 0, 0])
            if good { #expect(sync.operations == [.flush(nsid: 1)]) } else { expectCheck(sync, lbaOutOfRangeSense) }
        }
    }

    @Test func lbaOutOfRange() {
        // Last LBA 0FFFh: 0FFFh + 2 blocks runs past the end.
        expectCheck(plan([0x28, 0, 0, 0, 0x0F, 0xFF, 0, 0, 2, 0], length: 1024, direction: .fromDevice), lbaOutOfRangeSense)
        // An LBA that would wrap a 64-bit sum.
        expectCheck(plan([0x88, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 2, 0, 0], length: 1024,
                         direction: .fromDevice), lbaOutOfRangeSense)
    }

    @Test func bufferMustMatchTransferLength() {
        // Documented choice: ILLEGAL REQUEST, INVALID FIELD IN CDB at the TRANSFER LENGTH field,
        // for a data-in buffer too short and a data-out buffer of any other length.
        expectCheck(plan([0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0], length: 512, direction: .fromDevice), invalidCDB(byte: 7))
        expectCheck(plan([0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0], length: 1023, direction: .fromDevice), invalidCDB(byte: 7))
        expectCheck(plan([0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0], length: 1024, direction: .toDevice), invalidCDB(byte: 7))
        expectCheck(plan([0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0], length: 512, direction: .toDevice),
                    invalidCDB(byte: 10))
        expectCheck(plan([0x08, 0, 0, 0, 1, 0], length: 0, direction: .fromDevice), invalidCDB(byte: 4))
    }

    @Test func protectionFieldsRefused() {
        // RDPROTECT 001b: no protection information support.
        expectCheck(plan([0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0], length: 512, direction: .fromDevice), invalidCDB(byte: 1, bit: 5))
    }

    @Test func verify() {
        #expect(plan([0x2F, 0, 0, 0, 0, 8, 0, 0, 4, 0]).operations == [.verify(nsid: 1, lba: 8, blocks: 4)])
        // BYTCHK 01b: compare against the data-out buffer.
        let compare = plan([0x8F, 0x02, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0], length: 512, direction: .toDevice)
        #expect(compare.operations == [.compare(nsid: 1, lba: 8, blocks: 1, bufferOffset: 0)])
        // BYTCHK 10b reserved, 11b unsupported.
        expectCheck(plan([0x2F, 0x04, 0, 0, 0, 0, 0, 0, 1, 0], length: 512, direction: .toDevice), invalidCDB(byte: 1, bit: 2))
        expectCheck(plan([0x2F, 0x06, 0, 0, 0, 0, 0, 0, 1, 0], length: 512, direction: .toDevice), invalidCDB(byte: 1, bit: 2))
        // Neither Verify nor Compare on the controller: VERIFY is not supported at all.
        expectCheck(plan([0x2F, 0, 0, 0, 0, 8, 0, 0, 4, 0], facts: Fixture.facts(rich: false)), invalidOpcodeSense)
    }

    @Test func verifyNeedsOnlyTheCommandItsByteCheckUses() {
        // Compare alone: BYTCHK 1 works, BYTCHK 0 (NVMe Verify) is the refused field.
        var compareOnly = Fixture.facts()
        compareOnly.controller.oncs = [.compare]
        #expect(plan([0x2F, 0x02, 0, 0, 0, 8, 0, 0, 1, 0], length: 512, direction: .toDevice, facts: compareOnly).operations
            == [.compare(nsid: 1, lba: 8, blocks: 1, bufferOffset: 0)])
        expectCheck(plan([0x2F, 0, 0, 0, 0, 8, 0, 0, 4, 0], facts: compareOnly), invalidCDB(byte: 1, bit: 2))
        // Verify alone: the other way round.
        var verifyOnly = Fixture.facts()
        verifyOnly.controller.oncs = [.verify]
        #expect(plan([0x2F, 0, 0, 0, 0, 8, 0, 0, 4, 0], facts: verifyOnly).operations == [.verify(nsid: 1, lba: 8, blocks: 4)])
        expectCheck(plan([0x2F, 0x02, 0, 0, 0, 8, 0, 0, 1, 0], length: 512, direction: .toDevice, facts: verifyOnly),
                    invalidCDB(byte: 1, bit: 2))
    }

    @Test func writeAndVerify() throws {
        #expect(plan([0x2E, 0, 0, 0, 0, 1, 0, 0, 1, 0], length: 512, direction: .toDevice).operations
            == [.write(nsid: 1, lba: 1, blocks: 1, fua: true, bufferOffset: 0), .verify(nsid: 1, lba: 1, blocks: 1)])
        // BYTCHK 1: the data-out is the compare data, so a miscompare's offset can be found.
        let data = (0..<512).map { UInt8(truncatingIfNeeded: $0) }
        let compare = try #require(plan([0x2E, 0x02, 0, 0, 0, 1, 0, 0, 1, 0], dataOut: data, length: 512, direction: .toDevice).context)
        var media = data
        media[300] ^= 1
        var state = LogicalUnitState()
        #expect(complete(compare, results: [NVMeResult(operationIndex: 0, status: .success, bytesTransferred: 512),
                                            NVMeResult(operationIndex: 1, status: CompletionStatus(.compareFailure), mediaData: media)],
                         facts: Fixture.facts(), state: &state).sense
            == [0xF0, 0, 0x0E, 0, 0, 0x01, 0x2C, 0x0A, 0, 0, 0, 0, 0x1D, 0x00, 0, 0, 0, 0])
        #expect(plan([0x8E, 0x02, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0], length: 512, direction: .toDevice).operations
            == [.write(nsid: 1, lba: 1, blocks: 1, fua: true, bufferOffset: 0), .compare(nsid: 1, lba: 1, blocks: 1, bufferOffset: 0)])
        #expect(plan([0x2E, 0, 0, 0, 0, 1, 0, 0, 1, 0], length: 512, direction: .toDevice, facts: Fixture.facts(rich: false)).operations
            == [.write(nsid: 1, lba: 1, blocks: 1, fua: true, bufferOffset: 0)])
    }

    @Test func twelveByteVerifyAndWriteAndVerify() {
        // SBC-4 5.31 VERIFY (12) and 5.47 WRITE AND VERIFY (12): the (10) fields with a four-byte
        // LBA at byte 2 and a four-byte length at byte 6.
        #expect(plan([0xAF, 0, 0, 0, 0x01, 0x00, 0, 0, 0, 4, 0, 0]).operations == [.verify(nsid: 1, lba: 0x100, blocks: 4)])
        #expect(plan([0xAF, 0x02, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0], length: 512, direction: .toDevice).operations
            == [.compare(nsid: 1, lba: 8, blocks: 1, bufferOffset: 0)])
        #expect(plan([0xAE, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0], length: 1024, direction: .toDevice).operations
            == [.write(nsid: 1, lba: 1, blocks: 2, fua: true, bufferOffset: 0), .verify(nsid: 1, lba: 1, blocks: 2)])
        // Past the end, and a reserved bit (byte 1 bit 0).
        expectCheck(plan([0xAF, 0, 0, 0, 0x10, 0, 0, 0, 0, 1, 0, 0]), lbaOutOfRangeSense)
        expectCheck(plan([0xAE, 0x01, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0], length: 512, direction: .toDevice), invalidCDB(byte: 1, bit: 0))
        #expect(needsDataOut(cdb: [0xAF, 0x02, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]) && !needsDataOut(cdb: [0xAF, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]))
    }

    @Test func synchronizeCache() {
        #expect(plan([0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0]).operations == [.flush(nsid: 1)])
        #expect(plan([0x91, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).operations == [.flush(nsid: 1)])
        // No volatile write cache: nothing to flush, GOOD.
        #expect(plan([0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0], facts: Fixture.facts(rich: false)).response == SCSIResponse(status: .good))
        expectCheck(plan([0x35, 0, 0, 0, 0x10, 0x00, 0, 0, 1, 0]), lbaOutOfRangeSense)
    }

    @Test func aLongerDataInBufferLeavesTheExcessAsResidual() throws {
        // READ(10) of 2 blocks (1024 bytes) into 1500 bytes: the same one Read; SAM-5's residual
        // is the 476 bytes not transferred.
        let longer = plan([0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0], length: 1500, direction: .fromDevice)
        #expect(longer.operations == [.read(nsid: 1, lba: 0, blocks: 2, fua: false, bufferOffset: 0)])
        var state = LogicalUnitState()
        let context = try #require(longer.context)
        #expect(complete(context, results: [NVMeResult(operationIndex: 0, status: .success, bytesTransferred: 1024)],
                         facts: Fixture.facts(), state: &state) == SCSIResponse(status: .good, residual: 476))
        // The fast path leaves it to translate (it handles exact buffers only).
        let cdb: [UInt8] = [0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0]
        #expect(cdb.withUnsafeBytes {
            translateBlockTransfer(cdb: $0, lun: 0, transferLength: 1500, direction: .fromDevice,
                                   facts: Fixture.facts(), state: LogicalUnitState())
        } == nil)
        // The buffer's direction still has to be data-in.
        expectCheck(plan(cdb, length: 1500, direction: .toDevice), invalidCDB(byte: 7))
    }

    @Test func completionAccountsResidual() {
        var state = LogicalUnitState()
        guard let context = plan([0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0], length: 1024, direction: .fromDevice).context else {
            Issue.record("expected a plan")
            return
        }
        let good = complete(context, results: [NVMeResult(operationIndex: 0, status: .success, bytesTransferred: 1024)],
                            facts: Fixture.facts(), state: &state)
        #expect(good == SCSIResponse(status: .good, residual: 0))
        let failed = complete(context, results: [NVMeResult(operationIndex: 0, status: CompletionStatus(.unrecoveredReadError),
                                                            bytesTransferred: 512, failingLBA: 1)],
                              facts: Fixture.facts(), state: &state)
        // MEDIUM ERROR, UNRECOVERED READ ERROR, INFORMATION = the failing LBA (VALID set).
        #expect(failed == SCSIResponse(status: .checkCondition,
                                       sense: [0xF0, 0, 0x03, 0, 0, 0, 1, 0x0A, 0, 0, 0, 0, 0x11, 0x00, 0, 0, 0, 0],
                                       residual: 512))
        // An unfinished plan is never success.
        #expect(complete(context, results: [], facts: Fixture.facts(), state: &state).status == .checkCondition)
    }
}

@Suite struct FastPathTests {
    /// Per CDB length (SBC-4 READ/WRITE layouts): the LBA's high bytes and the transfer
    /// length's high bytes, zeroed to keep the range inside the namespace, and the transfer
    /// length's low byte.
    static let shapes: [Int: (zeroed: [Int], lengthLow: Int)] = [
        6: ([1, 2], 4), 10: ([2, 3, 4, 6, 7], 8), 12: ([2, 3, 4, 6, 7, 8, 10], 9),
        16: ([2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 14], 13),
    ]

    @Test func agreesWithTranslate() {
        var random = SplitMix64(seed: 42)
        let facts = Fixture.facts()
        var accepted = 0
        var withFUA = [0, 0]   // reads, writes
        for _ in 0..<200_000 {
            let opcode: UInt8 = [0x08, 0x0A, 0x28, 0x2A, 0xA8, 0xAA, 0x88, 0x8A, 0x00][Int(random.next() % 9)]
            let length = random.next() % 8 == 0 ? Int(random.next() % 17) : (CDB.groupLength(opcode) ?? 6)
            var cdb = (0..<length).map { _ in random.next() % 3 == 0 ? UInt8.random(in: 0...255, using: &random) : 0 }
            if !cdb.isEmpty { cdb[0] = opcode }
            if random.next() % 2 == 0, let shape = Self.shapes[cdb.count] {
                // Half the CDBs well formed but for the flags: a small LBA, 1, 2 or 256 blocks (the
                // lengths `transferLength` offers), CONTROL 0, and in byte 1 of the 10-, 12- and
                // 16-byte CDBs DPO (bit 4) and FUA (bit 3) in every combination, so that FUA is
                // as common as not among the CDBs the fast path accepts.
                for index in shape.zeroed { cdb[index] = 0 }
                cdb[shape.lengthLow] = UInt8(random.next() % 3)
                cdb[cdb.count - 1] = 0
                if cdb.count > 6 { cdb[1] = [0x00, 0x08, 0x10, 0x18][Int(random.next() % 4)] }
            } else if cdb.count > 2, random.next() % 2 == 0 {
                cdb[cdb.count - 2] = UInt8(random.next() % 3)
            }
            let transferLength = [0, 512, 1024, 131_072][Int(random.next() % 4)]
            let direction: DataDirection = [.none, .fromDevice, .toDevice][Int(random.next() % 3)]
            var state = LogicalUnitState(stopped: random.next() % 8 == 0)
            let lun = random.next() % 8 == 0 ? 1 : UInt64(0)
            let fast = cdb.withUnsafeBytes {
                translateBlockTransfer(cdb: $0, lun: lun, transferLength: transferLength, direction: direction, facts: facts, state: state)
            }
            guard let fast else { continue }
            accepted += 1
            // FUA is byte 1 bit 3 of READ/WRITE (10), (12), (16); the 6-byte CDBs have none (SBC-4).
            #expect(fast.fua == (cdb.count > 6 && cdb[1] & 0x08 != 0), "\(cdb)")
            if fast.fua { withFUA[fast.isWrite ? 1 : 0] += 1 }
            let slow = plan(cdb, lun: lun, length: transferLength, direction: direction, facts: facts, state: &state)
            #expect(slow.operations == [fast.operation], "\(cdb)")
        }
        #expect(accepted > 2000)
        // Both directions were compared with FUA set, many times each.
        #expect(withFUA.allSatisfy { $0 > 300 }, "\(withFUA) of \(accepted)")
    }

    @Test func readTen() {
        let cdb: [UInt8] = [0x28, 0x08, 0, 0, 0, 0x10, 0, 0, 8, 0]
        let fast = cdb.withUnsafeBytes {
            translateBlockTransfer(cdb: $0, lun: 0, transferLength: 4096, direction: .fromDevice, facts: Fixture.facts(),
                                   state: LogicalUnitState())
        }
        #expect(fast == BlockTransfer(isWrite: false, nsid: 1, lba: 0x10, blocks: 8, fua: true))
    }
}
