import NVMe
import Testing
import TestSupport
@testable import Translation

@Suite struct UnmapTests {
    func unmap(_ data: [UInt8], facts: DeviceFacts = Fixture.facts()) -> TranslationPlan {
        plan([0x42, 0, 0, 0, 0, 0, 0, UInt8(data.count >> 8), UInt8(data.count & 0xFF), 0], dataOut: data,
             length: data.count, direction: .toDevice, facts: facts)
    }

    @Test func rangesBecomeDeallocate() {
        #expect(unmap(unmapParameterList([(0x10, 8), (0x100, 0), (0x200, 16)])).operations
            == [.deallocate(nsid: 1, ranges: [DatasetManagementRange(blockCount: 8, startingLBA: 0x10),
                                              DatasetManagementRange(blockCount: 16, startingLBA: 0x200)])])
    }

    @Test func emptyListsAreGood() {
        #expect(plan([0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0]).response?.status == .good)
        #expect(unmap(unmapParameterList([])).response?.status == .good)
    }

    @Test func theParameterListCountsAsTransferred() throws {
        // SAM-5: the residual is what was not transferred; the list was, though Dataset
        // Management moves none of the task's bytes.
        let data = unmapParameterList([(0x10, 8)])
        let context = try #require(unmap(data).context)
        var state = LogicalUnitState()
        #expect(complete(context, results: [NVMeResult(operationIndex: 0, status: .success)],
                         facts: Fixture.facts(), state: &state) == SCSIResponse(status: .good, residual: 0))
        #expect(unmap(unmapParameterList([])).response == SCSIResponse(status: .good, residual: 0))
        // PARAMETER LIST LENGTH 0 with a 24-byte buffer: nothing was sent.
        #expect(plan([0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0], length: 24, direction: .toDevice).response
            == SCSIResponse(status: .good, residual: 24))
    }

    @Test func headerChecks() {
        // Shorter than the 8-byte header.
        expectCheck(unmap([0, 6, 0, 0, 0, 0]), fixedSense(0x05, 0x1A, 0x00))
        // UNMAP DATA LENGTH larger than what was sent.
        var data = unmapParameterList([(0, 1)])
        data[1] = 0x40
        expectCheck(unmap(data), invalidParameter(byte: 0))
        // BLOCK DESCRIPTOR DATA LENGTH beyond what was sent.
        data = unmapParameterList([(0, 1)])
        data[3] = 0x20
        expectCheck(unmap(data), invalidParameter(byte: 2))
    }

    @Test func anIncompleteDescriptorIsIgnored() {
        // SBC-4 5.32.2: BLOCK DESCRIPTOR DATA LENGTH 31 holds one whole descriptor and 15 bytes
        // of the next, which is ignored.
        var data = unmapParameterList([(0x10, 8), (0x200, 16)])
        data[3] = 0x1F
        #expect(unmap(data).operations == [.deallocate(nsid: 1, ranges: [DatasetManagementRange(blockCount: 8, startingLBA: 0x10)])])
        // Less than one descriptor: nothing to unmap, GOOD.
        data[3] = 0x0F
        #expect(unmap(data).response?.status == .good)
    }

    @Test func aLongDescriptorIsSplitOverRanges() {
        var facts = Fixture.facts()
        facts.maximumBlocksPerDeallocateRange = 0x100
        #expect(unmap(unmapParameterList([(0x10, 0x250)]), facts: facts).operations == [.deallocate(nsid: 1, ranges: [
            DatasetManagementRange(blockCount: 0x100, startingLBA: 0x10),
            DatasetManagementRange(blockCount: 0x100, startingLBA: 0x110),
            DatasetManagementRange(blockCount: 0x50, startingLBA: 0x210),
        ])])
    }

    @Test func maximumUnmapLBACountFFFFFFFFhMeansNoMaximum() {
        // SBC-4 6.6.4: FFFFFFFFh is no limit, so more than 2^32 - 1 blocks in one UNMAP is fine.
        var facts = Fixture.facts(namespaces: [Fixture.namespace(blocks: 0x2_0000_0000)])
        facts.maximumDeallocateBlocks = 0xFFFF_FFFF
        #expect(unmap(unmapParameterList([(0, 0xFFFF_FFFF), (0x1_0000_0000, 2)]), facts: facts).operations == [.deallocate(nsid: 1, ranges: [
            DatasetManagementRange(blockCount: 0xFFFF_FFFF, startingLBA: 0),
            DatasetManagementRange(blockCount: 2, startingLBA: 0x1_0000_0000),
        ])])
    }

    @Test func maximumUnmapBlockDescriptorCount() {
        var facts = Fixture.facts()
        facts.maximumDeallocateRanges = 2
        #expect(unmap(unmapParameterList([(0, 1), (8, 1)]), facts: facts).operations?.count == 1)
        // SBC-4 5.32.1: more descriptors than MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT is INVALID
        // FIELD IN PARAMETER LIST; the pointer is at BLOCK DESCRIPTOR DATA LENGTH.
        expectCheck(unmap(unmapParameterList([(0, 1), (8, 1), (16, 1)]), facts: facts), invalidParameter(byte: 2))
    }

    @Test func limits() {
        // Beyond the capacity.
        expectCheck(unmap(unmapParameterList([(0xFFF, 2)])), lbaOutOfRangeSense)
        // SBC-4 5.32.2: a descriptor is out of range only when LBA + NUMBER OF LOGICAL BLOCKS
        // exceeds the capacity (1000h blocks); 0 blocks unmaps nothing and is no error.
        #expect(unmap(unmapParameterList([(0x1000, 0)])).response?.status == .good)
        #expect(unmap(unmapParameterList([(0x1000, 0), (0x10, 8)])).operations
            == [.deallocate(nsid: 1, ranges: [DatasetManagementRange(blockCount: 8, startingLBA: 0x10)])])
        expectCheck(unmap(unmapParameterList([(0x1001, 0)])), lbaOutOfRangeSense)
        // More blocks than MAXIMUM UNMAP LBA COUNT (10000h in the fixture): pointer at the second count.
        let many = unmapParameterList([(0, 0xFFFF), (0x10000, 2)])
        expectCheck(unmap(many, facts: Fixture.facts(namespaces: [Fixture.namespace(blocks: 0x20000)])), invalidParameter(byte: 32))
        // Not supported without Dataset Management.
        expectCheck(unmap(unmapParameterList([(0, 1)]), facts: Fixture.facts(rich: false)), invalidOpcodeSense)
        // ANCHOR is not supported.
        expectCheck(plan([0x42, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]), invalidCDB(byte: 1, bit: 0))
    }
}

@Suite struct WriteSameTests {
    let zero = [UInt8](repeating: 0, count: 512)
    let pattern = [UInt8](repeating: 0xA5, count: 512)

    func writeSame16(_ byte1: UInt8, lba: UInt8 = 0x10, blocks: UInt8 = 8, data: [UInt8]?, facts: DeviceFacts = Fixture.facts()) -> TranslationPlan {
        plan([0x93, byte1, 0, 0, 0, 0, 0, 0, 0, lba, 0, 0, 0, blocks, 0, 0], dataOut: data, length: data?.count ?? 0,
             direction: data == nil ? .none : .toDevice, facts: facts)
    }

    @Test func zeroBlockBecomesWriteZeroes() {
        #expect(writeSame16(0, data: zero).operations == [.writeZeroes(nsid: 1, lba: 0x10, blocks: 8, deallocate: false)])
        #expect(plan([0x41, 0, 0, 0, 0, 0x10, 0, 0, 8, 0], dataOut: zero, length: 512, direction: .toDevice).operations
            == [.writeZeroes(nsid: 1, lba: 0x10, blocks: 8, deallocate: false)])
    }

    @Test func theBlockCountsAsTransferredWhateverCarriesIt() throws {
        var namespace = Fixture.namespace()
        namespace.dlfeat = 1
        let plans = [writeSame16(0, data: zero),                                                      // Write Zeroes
                     writeSame16(0x08, data: zero, facts: Fixture.facts(namespaces: [namespace]))]    // Deallocate
        for plan in plans {
            let context = try #require(plan.context)
            var state = LogicalUnitState()
            // Neither command moves the task's bytes, but the block was transferred (SAM-5).
            #expect(complete(context, results: [NVMeResult(operationIndex: 0, status: .success)],
                             facts: Fixture.facts(), state: &state) == SCSIResponse(status: .good, residual: 0))
        }
        // A repeated block is moved by the engine, which reports it; NDOB has no data-out.
        let repeated = try #require(writeSame16(0, data: pattern).context)
        var state = LogicalUnitState()
        #expect(complete(repeated, results: [NVMeResult(operationIndex: 0, status: .success, bytesTransferred: 512)],
                         facts: Fixture.facts(), state: &state).residual == 0)
        let ndob = try #require(writeSame16(0x09, data: nil).context)
        #expect(complete(ndob, results: [NVMeResult(operationIndex: 0, status: .success)],
                         facts: Fixture.facts(), state: &state) == SCSIResponse(status: .good, residual: 0))
    }

    @Test func unmapBit() {
        // Deallocated blocks not known to read zero: Write Zeroes with DEAC.
        #expect(writeSame16(0x08, data: zero).operations == [.writeZeroes(nsid: 1, lba: 0x10, blocks: 8, deallocate: true)])
        // DLFEAT says they read zero: Dataset Management.
        var namespace = Fixture.namespace()
        namespace.dlfeat = 1
        #expect(writeSame16(0x08, data: zero, facts: Fixture.facts(namespaces: [namespace])).operations
            == [.deallocate(nsid: 1, ranges: [DatasetManagementRange(blockCount: 8, startingLBA: 0x10)])])
        // NDOB: zeros without a buffer.
        #expect(writeSame16(0x09, data: nil).operations == [.writeZeroes(nsid: 1, lba: 0x10, blocks: 8, deallocate: true)])
        // A non-zero block is written even with UNMAP: it must read back as sent.
        #expect(writeSame16(0x08, data: pattern).operations == [.writeRepeatingBlock(nsid: 1, lba: 0x10, blocks: 8, sourceOffset: 0)])
    }

    @Test func patternIsRepeated() {
        #expect(writeSame16(0, data: pattern).operations == [.writeRepeatingBlock(nsid: 1, lba: 0x10, blocks: 8, sourceOffset: 0)])
        // Without Write Zeroes a zero block is written like any other.
        #expect(writeSame16(0, data: zero, facts: Fixture.facts(rich: false)).operations
            == [.writeRepeatingBlock(nsid: 1, lba: 0x10, blocks: 8, sourceOffset: 0)])
    }

    @Test func errors() {
        // WSNZ: zero blocks refused, pointer at NUMBER OF LOGICAL BLOCKS.
        expectCheck(writeSame16(0, blocks: 0, data: zero), invalidCDB(byte: 10))
        expectCheck(writeSame16(0, lba: 0xFF, blocks: 0xFF, data: zero, facts: Fixture.facts(namespaces: [Fixture.namespace(blocks: 0x100)])),
                    lbaOutOfRangeSense)
        // The buffer must be exactly one block.
        expectCheck(plan([0x93, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0], dataOut: zero + zero, length: 1024, direction: .toDevice),
                    invalidCDB(byte: 10))
        // UNMAP without any way to deallocate; NDOB without Write Zeroes.
        expectCheck(writeSame16(0x08, data: zero, facts: Fixture.facts(rich: false)), invalidCDB(byte: 1, bit: 3))
        expectCheck(writeSame16(0x01, data: nil, facts: Fixture.facts(rich: false)), invalidCDB(byte: 1, bit: 0))
        // Write Zeroes without Dataset Management: fully provisioned (LBPWS 0), so UNMAP is still refused.
        var zeroesOnly = Fixture.facts()
        zeroesOnly.controller.oncs = [.writeZeroes]
        expectCheck(writeSame16(0x08, data: zero, facts: zeroesOnly), invalidCDB(byte: 1, bit: 3))
        expectCheck(plan([0x41, 0x08, 0, 0, 0, 0x10, 0, 0, 8, 0], dataOut: zero, length: 512, direction: .toDevice, facts: zeroesOnly),
                    invalidCDB(byte: 1, bit: 3))
        #expect(writeSame16(0x01, data: nil, facts: zeroesOnly).operations == [.writeZeroes(nsid: 1, lba: 0x10, blocks: 8, deallocate: false)])
        // ANCHOR.
        expectCheck(writeSame16(0x10, data: zero), invalidCDB(byte: 1, bit: 4))
    }
}

@Suite struct CompareAndWriteTests {
    let compare = [UInt8](repeating: 0x11, count: 1024)
    let write = [UInt8](repeating: 0x22, count: 1024)

    @Test func fusedOperation() {
        #expect(plan(CDB.compareAndWrite(lba: 0x20, blocks: 2, fua: true), dataOut: compare + write, length: 2048, direction: .toDevice).operations
            == [.compareAndWrite(nsid: 1, lba: 0x20, blocks: 2, compareOffset: 0, writeOffset: 1024, fua: true)])
        #expect(plan(CDB.compareAndWrite(lba: 0x20, blocks: 0)).response?.status == .good)
    }

    @Test func limits() {
        // ACWU 7 (0's based): at most 8 blocks.
        expectCheck(plan(CDB.compareAndWrite(lba: 0x20, blocks: 9), length: 9 * 1024, direction: .toDevice), invalidCDB(byte: 13))
        expectCheck(plan(CDB.compareAndWrite(lba: 0x20, blocks: 2), length: 1024, direction: .toDevice), invalidCDB(byte: 13))
        expectCheck(plan(CDB.compareAndWrite(lba: 0x20, blocks: 1), length: 1024, direction: .toDevice, facts: Fixture.facts(rich: false)), invalidOpcodeSense)
    }

    @Test func miscompareOffset() {
        var state = LogicalUnitState()
        guard let context = plan(CDB.compareAndWrite(lba: 0x20, blocks: 2), dataOut: compare + write, length: 2048, direction: .toDevice).context else {
            Issue.record("expected a plan")
            return
        }
        // The engine hands back the media data: first difference at byte 515 (203h).
        var media = compare
        media[515] = 0
        let failure = CompletionStatus(.compareFailure)
        let fromMedia = complete(context, results: [NVMeResult(operationIndex: 0, status: failure, mediaData: media)],
                                 facts: Fixture.facts(), state: &state)
        // MISCOMPARE (Eh), MISCOMPARE DURING VERIFY OPERATION (1Dh/00h), INFORMATION 203h.
        #expect(fromMedia == SCSIResponse(status: .checkCondition,
                                          sense: [0xF0, 0, 0x0E, 0, 0, 0x02, 0x03, 0x0A, 0, 0, 0, 0, 0x1D, 0x00, 0, 0, 0, 0],
                                          residual: 2048))
        // Or the engine knows the offset.
        let fromEngine = complete(context, results: [NVMeResult(operationIndex: 0, status: failure, miscompareOffset: 7)],
                                  facts: Fixture.facts(), state: &state)
        #expect(fromEngine.sense == [0xF0, 0, 0x0E, 0, 0, 0, 0x07, 0x0A, 0, 0, 0, 0, 0x1D, 0x00, 0, 0, 0, 0])
        // Neither: INFORMATION not valid.
        let unknown = complete(context, results: [NVMeResult(operationIndex: 0, status: failure)], facts: Fixture.facts(), state: &state)
        #expect(unknown.sense == fixedSense(0x0E, 0x1D, 0x00))
    }
}
