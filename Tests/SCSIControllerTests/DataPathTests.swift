import DMAMapper
import MockNVMe
import NVMe
import Testing
@testable import SCSIController

/// Data moves through PRP1/PRP2, PRP lists (chained) and SGLs, built from one IOVA segment, and
/// the software IOMMU sees every access land inside a mapping.
@Suite struct DataPathTests {
    /// Writes `bytes` at `offset` into a buffer, reads them back into another, and compares.
    func roundTrip(_ rig: Rig, bytes: Int, offset: Int = 0, lba: UInt64 = 0) throws {
        let source = try rig.patterned(bytes: bytes + offset, seed: UInt64(bytes))
        let blocks = bytes / rig.blockSize
        let written = rig.queue.write(nsid: rig.nsid, lba: lba, blocks: blocks, from: source, offset: offset)
        #expect(written.succeeded, "\(written.error.map { "\($0)" } ?? "")")
        #expect(written.bytesTransferred == bytes)
        // The media, read by the mock directly: a read through the same breaker would hide a
        // piece written to the wrong blocks and read back from them.
        #expect(rig.media(lba: lba, count: blocks) == Array(UnsafeRawBufferPointer(start: source.address + offset, count: bytes)))
        let sink = try rig.controller.mapper.allocate(length: bytes + offset)
        let read = rig.queue.read(nsid: rig.nsid, lba: lba, blocks: blocks, into: sink, offset: offset)
        #expect(read.succeeded, "\(read.error.map { "\($0)" } ?? "")")
        #expect(same(source.address + offset, sink.address + offset, count: bytes))
        #expect(rig.mock.dmaFaults.isEmpty, "IOMMU faults: \(rig.mock.dmaFaults)")
    }

    @Test(arguments: [DataPointerMode.prp, .sgl])
    func offsetInsideTheFirstPage(mode: DataPointerMode) throws {
        let rig = try Rig(options: { $0.dataPointerMode = mode })
        try roundTrip(rig, bytes: 512, offset: 512)
    }

    @Test(arguments: [DataPointerMode.prp, .sgl])
    func exactlyOnePage(mode: DataPointerMode) throws {
        try roundTrip(try Rig(options: { $0.dataPointerMode = mode }), bytes: 4096)
    }

    @Test(arguments: [DataPointerMode.prp, .sgl])
    func twoPages(mode: DataPointerMode) throws {
        let rig = try Rig(options: { $0.dataPointerMode = mode })
        try roundTrip(rig, bytes: 8192)
        try roundTrip(rig, bytes: 4096, offset: 2048)  // straddles a page boundary
    }

    @Test func aPRPList() throws {
        let rig = try Rig(options: { $0.dataPointerMode = .prp })
        try roundTrip(rig, bytes: 64 << 10)
        try roundTrip(rig, bytes: 64 << 10, offset: 512)
    }

    @Test func aPRPListThatChainsAtItsPageBoundary() throws {
        // MDTS 10 with 4 KiB pages: 4 MiB per command, 1024 list entries across three chained list pages.
        let rig = try Rig({ $0.mdts = 10 }, options: { $0.dataPointerMode = .prp })
        #expect(rig.controller.maximumCommandBytes == 4 << 20)
        try roundTrip(rig, bytes: 4 << 20)
        // 2 MiB + 8 KiB from a page boundary is 514 pages: PRP1 holds the first, so the list needs
        // 513 entries, one more than a 4 KiB list page holds - slot 511 chains to a second page.
        let chained = (2 << 20) + 8192
        #expect(chained / 4096 - 1 > 4096 / 8)
        try roundTrip(rig, bytes: chained)
        try roundTrip(rig, bytes: (4 << 20) - 4096, offset: 4)
    }

    @Test(arguments: [DataPointerMode.prp, .sgl])
    func oneGibibyteInOneCall(mode: DataPointerMode) throws {
        let rig = try Rig({ $0.mdts = 9; $0.namespaces = [MockNamespace(blockCount: (1 << 30) / 4096 + 8, blockSize: 4096)] },
                          options: { $0.dataPointerMode = mode })
        let bytes = 1 << 30
        let source = try rig.patterned(bytes: bytes, seed: 77)
        let written = rig.queue.write(nsid: rig.nsid, lba: 0, blocks: bytes / 4096, from: source)
        #expect(written.succeeded)
        #expect(written.commands == bytes / (2 << 20))
        let sink = try rig.controller.mapper.allocate(length: bytes)
        let read = rig.queue.read(nsid: rig.nsid, lba: 0, blocks: bytes / 4096, into: sink)
        #expect(read.succeeded && read.bytesTransferred == bytes)
        #expect(same(source.address, sink.address, count: bytes))
        #expect(rig.mock.dmaFaults.isEmpty)
    }

    /// Memory pages of 8 KiB and 64 KiB (CC.MPS 1 and 4): PRP entries, offsets and lists follow
    /// the configured page size, and the buffers the mapper hands out are aligned to it.
    @Test(arguments: [(UInt8(1), 8192), (UInt8(4), 65536)])
    func ioWithLargerMemoryPageSizes(mpsmin: UInt8, page: Int) throws {
        let rig = try Rig({ $0.mpsmin = mpsmin; $0.mpsmax = 4 }, options: { $0.pageSize = page; $0.dataPointerMode = .prp })
        #expect(rig.controller.pageSize == page)
        #expect(rig.controller.maximumCommandBytes == page << 5)  // MDTS 5, in CAP.MPSMIN pages
        try roundTrip(rig, bytes: 512, offset: 512)
        try roundTrip(rig, bytes: page)
        try roundTrip(rig, bytes: page, offset: page / 2)  // PRP1 + PRP2
        try roundTrip(rig, bytes: 3 * page + 1024, offset: 4096)  // a list
        try roundTrip(rig, bytes: rig.controller.maximumCommandBytes, offset: 512)  // the longest list
    }

    @Test func aWrongIOVAGivesANamedError() throws {
        let rig = try Rig(options: { $0.dataPointerMode = .prp })
        let qp = rig.queue.queuePair
        let bogus: UInt64 = 0x7FFF_0000_0000
        qp.submit(.io(.read, nsid: rig.nsid, lba: 0, blocks: 8), dataIOVA: bogus, dataLength: 4096, tag: 9)
        qp.ringDoorbell()
        var status: CompletionStatus?
        #expect(pollUntil(qp, { status != nil }) { status = $0.status })
        #expect(status?.matches(.dataTransferError) == true)
        let fault = try #require(rig.mock.dmaFaults.first)
        #expect(fault.iova == bogus)
        #expect(fault.reason == .unmapped)
        #expect("\(fault)".contains("7fff00000000") || "\(fault)".uppercased().contains("7FFF00000000"))
    }
}

/// The request breaker: any size the constraints allow, split into pieces that fit.
@Suite struct BreakerTests {
    static let sizes = [512, 4096, 4608, 64 << 10, (64 << 10) + 512, 1 << 20, (3 << 20) + 1536, 64 << 20]

    @Test(arguments: sizes)
    func readsAndWritesOfEverySizeRoundTrip(bytes: Int) throws {
        // The seed thread's 64 KiB segments: everything larger is broken up.
        let overrides = HBAConstraintOverrides.complete(segments: 16384, segmentBytes: 64 << 10, maxTransferSize: 1 << 30)
        let rig = try Rig(options: { $0.constraints = overrides })
        let source = try rig.patterned(bytes: bytes, seed: 3)
        let written = rig.queue.write(nsid: rig.nsid, lba: 100, blocks: bytes / 512, from: source)
        #expect(written.succeeded)
        #expect(written.commands == (bytes + (64 << 10) - 1) / (64 << 10))
        #expect(rig.media(lba: 100, count: bytes / 512) == Array(UnsafeRawBufferPointer(start: source.address, count: bytes)),
                "the media, not a read through the same breaker")
        let sink = try rig.controller.mapper.allocate(length: bytes)
        let read = rig.queue.read(nsid: rig.nsid, lba: 100, blocks: bytes / 512, into: sink)
        #expect(read.succeeded && read.residual == 0)
        #expect(same(source.address, sink.address, count: bytes))
    }

    /// The block API honours the effective constraints, not only the segment size: a request above
    /// maxTransferSize, or above segment count x segment byte count, is refused naming the limit.
    @Test func requestsAboveTheTransferLimitsAreRefused() throws {
        let overrides = HBAConstraintOverrides.complete(segments: 4, segmentBytes: 64 << 10, maxTransferSize: 1 << 20, writeSegments: 16)
        let rig = try Rig(options: { $0.constraints = overrides })
        let buffer = try rig.patterned(bytes: 2 << 20, seed: 12)
        let write = rig.queue.write(nsid: rig.nsid, lba: 0, blocks: (1 << 20) / 512, from: buffer)
        #expect(write.succeeded && write.commands == 16)
        guard case let .requestRefused(tooLong) = rig.queue.write(nsid: rig.nsid, lba: 0, blocks: (1 << 20) / 512 + 1, from: buffer).error else {
            Issue.record("a write above maxTransferSize was not refused")
            return
        }
        #expect(tooLong.contains("maxTransferSize = 1048576"))
        #expect(rig.queue.read(nsid: rig.nsid, lba: 0, blocks: (256 << 10) / 512, into: buffer).succeeded)
        guard case let .requestRefused(tooMany) = rig.queue.read(nsid: rig.nsid, lba: 0, blocks: (256 << 10) / 512 + 1, into: buffer).error else {
            Issue.record("a read above 4 segments was not refused")
            return
        }
        #expect(tooMany.contains("kIOMaximumSegmentCountReadKey x kIOMaximumSegmentByteCountReadKey = 262144"))
    }

    @Test func firstErrorAndResidualAreReported() throws {
        let rig = try Rig { $0.mdts = 1 }  // 8 KiB commands
        rig.mock.inject(.failCommands(.io(.read, lbaRange: 100...100), status: CompletionStatus(.unrecoveredReadError)))
        let sink = try rig.controller.mapper.allocate(length: 64 << 10)
        let outcome = rig.queue.read(nsid: rig.nsid, lba: 80, blocks: 128, into: sink)
        #expect(!outcome.succeeded)
        #expect(outcome.status?.matches(.unrecoveredReadError) == true)
        // Pieces are 16 blocks: LBA 80-95 succeed, 96-111 holds LBA 100 and fails.
        #expect(outcome.bytesTransferred == 16 * 512)
        #expect(outcome.residual == (128 - 16) * 512)
        guard case let .ioCommandFailed(command, lba, blocks, _) = outcome.error else {
            Issue.record("expected ioCommandFailed, got \(String(describing: outcome.error))")
            return
        }
        #expect(command == "Read" && lba == 96 && blocks == 16)
    }

    @Test func requestsTheConstraintsCannotServeAreRefusedAtOnce() throws {
        let rig = try Rig()
        let buffer = try rig.controller.mapper.allocate(length: 8192)
        let misaligned = rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 1, into: buffer, offset: 2)
        guard case let .requestRefused(reason) = misaligned.error else { Issue.record("not refused"); return }
        #expect(reason.contains("not aligned to 4 bytes"))
        // Derived constraints: the HBA data alignment mask (3) is what demands dword alignment.
        #expect(reason.contains("kIOMinimumHBADataAlignmentMaskKey = 0x3"))
        let tooLong = rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 17, into: buffer)
        guard case let .requestRefused(why) = tooLong.error else { Issue.record("not refused"); return }
        #expect(why.contains("buffer has 8192"))
        let pastEnd = rig.queue.read(nsid: rig.nsid, lba: rig.controller.namespaces[0].blockCount - 1, blocks: 2, into: buffer)
        guard case .requestRefused = pastEnd.error else { Issue.record("not refused"); return }
        let noNamespace = rig.queue.read(nsid: 9, lba: 0, blocks: 1, into: buffer)
        guard case .requestRefused = noNamespace.error else { Issue.record("not refused"); return }
        #expect(rig.mock.statistics.hostReadCommands == 0)
    }

    /// A block count whose byte count overflows `Int` is refused with its reason like any other
    /// (the refusal's message once multiplied it out, and trapped).
    @Test func aBlockCountNoNamespaceHoldsIsRefused() throws {
        let rig = try Rig()
        let buffer = try rig.controller.mapper.allocate(length: 4096)
        let outcome = rig.queue.read(nsid: rig.nsid, lba: 0, blocks: .max, into: buffer)
        guard case let .requestRefused(reason) = outcome.error else { Issue.record("not refused: \(String(describing: outcome.error))"); return }
        #expect(reason.contains("ends past namespace"))
        #expect(outcome.bytesTransferred == 0 && outcome.commands == 0)
        #expect(rig.mock.statistics.hostReadCommands == 0)
    }
}
