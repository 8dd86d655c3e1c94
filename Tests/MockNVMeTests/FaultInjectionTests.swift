import DMAMapper
import MockNVMe
import NVMe
import Testing

@Suite("Fault injection")
struct FaultInjectionTests {
    static func harness(_ configure: (inout MockConfiguration) -> Void = { _ in }) throws -> Harness {
        try Harness.withQueuePair(configure)
    }

    @Test func statusForMatchingOpcodeAndLBARange() throws {
        let harness = try Self.harness()
        harness.controller.inject(.failCommands(.io(.read, lbaRange: 100...199), status: CompletionStatus(.unrecoveredReadError)))
        #expect(try harness.read(lba: 50, blocks: 1).0.isSuccess)
        #expect(try harness.read(lba: 99, blocks: 2).0.matches(.unrecoveredReadError))
        #expect(try harness.read(lba: 150, blocks: 1).0.matches(.unrecoveredReadError))
        #expect(try harness.read(lba: 200, blocks: 1).0.isSuccess)
        // Writes to the range are not affected.
        #expect(try harness.writePattern(lba: 150, blocks: 1, seed: 1).0.isSuccess)
        // Admin Get Log Page shares opcode 02h with Read but is not an I/O command.
        #expect(try harness.execute(.getLogPage(.smartHealth, byteCount: 512), buffer: harness.allocate(4096)).status.isSuccess)
        harness.controller.removeInjectedFaults()
        #expect(try harness.read(lba: 150, blocks: 1).0.isSuccess)
    }

    @Test func countLimitedFault() throws {
        let harness = try Self.harness()
        harness.controller.inject(.failCommands(.io(.write, count: 2), status: CompletionStatus(.writeFault)))
        #expect(try harness.writePattern(lba: 0, blocks: 1, seed: 1).0.matches(.writeFault))
        #expect(try harness.writePattern(lba: 0, blocks: 1, seed: 1).0.matches(.writeFault))
        #expect(try harness.writePattern(lba: 0, blocks: 1, seed: 1).0.isSuccess)
    }

    @Test func probabilityIsSeeded() throws {
        func run() throws -> [Bool] {
            let harness = try Self.harness { $0.randomSeed = 77 }
            harness.controller.inject(.failCommands(.io(.read, probability: 0.3), status: CompletionStatus(.internalError)))
            return try (0..<100).map { _ in try harness.read(lba: 0, blocks: 1).0.isSuccess }
        }
        let first = try run()
        #expect(first == (try run()))
        let failures = first.filter { !$0 }.count
        #expect(failures > 5 && failures < 60)
    }

    /// A corrupting read completes with success; the host gets the first byte of each block
    /// inverted, the same on every read, while the media keeps what was written.
    @Test func corruptReadDataFlipsDeliveredBytesOnly() throws {
        let harness = try Self.harness()
        let (written, pattern) = try harness.writePattern(lba: 10, blocks: 16, seed: 3)
        #expect(written.isSuccess)
        harness.controller.inject(.corruptReadData(CommandMatch(count: 2)))
        // Writes never trigger it (and do not use up its count).
        #expect(try harness.writePattern(lba: 40, blocks: 2, seed: 3).0.isSuccess)
        let first = try harness.read(lba: 10, blocks: 16)
        let second = try harness.read(lba: 10, blocks: 16)
        #expect(first.0.isSuccess && second.0.isSuccess)
        #expect(Self.differences(first.1, second.1) == [], "deterministic")
        #expect(Self.differences(first.1, pattern) == (0..<16).map { $0 * 512 })
        #expect(Self.differences(first.1.enumerated().map { $0.offset % 512 == 0 ? ~$0.element : $0.element }, pattern) == [],
                "the first byte of each block inverted")
        #expect(Self.differences(harness.controller.mediaContents(nsid: 1, lba: 10, count: 16), pattern) == [])
        // Count 2 used up: the third read is clean.
        #expect(Self.differences(try harness.read(lba: 10, blocks: 16).1, pattern) == [])
    }

    /// Over a PRP list with an odd first offset, every block's first byte is found, and a read
    /// outside the match is clean.
    @Test func corruptReadDataAcrossPages() throws {
        let harness = try Self.harness()
        let (_, pattern) = try harness.writePattern(lba: 0, blocks: 24, seed: 9)
        harness.controller.inject(.corruptReadData(.io(.read, lbaRange: 0...0)))
        let buffer = try harness.allocate(24 * 512 + 4096)
        let offset = 1000  // dword aligned, mid-page: blocks straddle page boundaries
        let status = harness.execute(.io(.read, nsid: 1, lba: 0, blocks: 24), buffer: buffer, offset: offset, qid: 1).status
        #expect(status.isSuccess, "\(status)")
        let got = Array(UnsafeRawBufferPointer(start: buffer.address + offset, count: 24 * 512))
        #expect(Self.differences(got, pattern) == (0..<24).map { $0 * 512 })
        #expect(Self.differences(try harness.read(lba: 1, blocks: 2).1, Array(pattern[512..<1536])) == [])
    }

    /// Offsets where `a` and `b` differ (the first 64), for short failure messages.
    static func differences(_ a: [UInt8], _ b: [UInt8]) -> [Int] {
        guard a.count == b.count else { return [-1] }
        return Array(a.indices.filter { a[$0] != b[$0] }.prefix(64))
    }

    @Test func controllerFatalStopsProcessing() throws {
        let harness = try Self.harness()
        harness.controller.inject(.controllerFatal)
        #expect(harness.csts.cfs)
        harness.submit(.flush(nsid: 1), qid: 1)
        #expect(harness.poll(qid: 1).isEmpty)
        // A reset clears it.
        harness.controller.writeRegister32(0, at: ControllerRegister.cc)
        #expect(!harness.csts.cfs)
    }

    @Test func surpriseRemovalStopsDMA() throws {
        let harness = try Self.harness()
        let buffer = try harness.allocate(4096)
        memsetZero(buffer)
        harness.controller.inject(.surpriseRemoval)
        var write = SubmissionQueueEntry.io(.read, nsid: 1, lba: 0, blocks: 1)
        write.dptr1 = buffer.iova
        harness.submit(write, qid: 1)
        #expect(harness.poll(qid: 1).isEmpty)
        #expect(harness.controller.readRegister32(at: ControllerRegister.vs) == 0xFFFF_FFFF)
        #expect(harness.controller.statistics.hostReadCommands == 0)
    }

    @Test func unknownCommandIDCompletion() throws {
        let harness = try Self.harness()
        harness.controller.inject(.hostileCompletion(.unknownCommandID(0xBEEF), .io(.flush, count: 1)))
        let id = harness.submit(.flush(nsid: 1), qid: 1)
        let completions = harness.poll(qid: 1)
        #expect(completions.map(\.commandID) == [0xBEEF, id])
    }

    @Test func duplicateCompletion() throws {
        let harness = try Self.harness()
        harness.controller.inject(.hostileCompletion(.duplicate, .io(.flush, count: 1)))
        let id = harness.submit(.flush(nsid: 1), qid: 1)
        #expect(harness.poll(qid: 1).map(\.commandID) == [id, id])
    }

    @Test func sqHeadOutOfRange() throws {
        let harness = try Self.harness()
        harness.controller.inject(.hostileCompletion(.sqHeadOutOfRange, .io(.flush, count: 1)))
        harness.submit(.flush(nsid: 1), qid: 1)
        let completion = harness.poll(qid: 1)
        #expect(completion.count == 1)
        #expect(Int(completion.first?.sqHead ?? 0) >= harness.queues[1]!.sqEntries)
    }

    @Test func wrongPhaseHidesTheCompletion() throws {
        let harness = try Self.harness()
        harness.controller.inject(.hostileCompletion(.wrongPhase, .io(.flush, count: 1)))
        harness.submit(.flush(nsid: 1), qid: 1)
        // The entry was written with the stale phase: a phase-tag poll sees nothing.
        #expect(harness.poll(qid: 1).isEmpty)
        let raw = harness.queues[1]!.cq.address.loadUnaligned(fromByteOffset: 0, as: CompletionQueueEntry.self)
        #expect(raw.commandID != 0 && !raw.phase)
    }

    @Test func neverCompleteAdminCommand() throws {
        let harness = try Self.harness()
        harness.controller.inject(.neverComplete(.admin(.getFeatures, count: 1)))
        harness.submit(.getFeatures(.arbitration))
        #expect(harness.poll().isEmpty)
        #expect(harness.execute(.getFeatures(.arbitration)).status.isSuccess)
    }

    private func memsetZero(_ buffer: DMABuffer) {
        buffer.address.initializeMemory(as: UInt8.self, repeating: 0, count: buffer.length)
    }
}
