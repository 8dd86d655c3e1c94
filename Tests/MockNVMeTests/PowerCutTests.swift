import DMAMapper
import MockNVMe
import NVMe
import Testing

@Suite("Volatile write cache and power cuts")
struct PowerCutTests {
    /// A controller with queue pair 1; after a power cut, `restart` brings it back the way a
    /// driver would after power returns (a fresh admin queue, enable, queue pair 1 again).
    static func harness(_ configure: (inout MockConfiguration) -> Void = { _ in }) throws -> Harness {
        try Harness.withQueuePair(configure)
    }

    static func restart(_ harness: Harness) throws {
        #expect(!harness.csts.rdy)
        #expect(harness.controller.readRegister32(at: ControllerRegister.cc) == 0)
        #expect(harness.controller.readRegister32(at: ControllerRegister.aqa) == 0)
        try harness.installAdminQueue(entries: 16)
        harness.enable()
        #expect(harness.csts.rdy)
        try harness.createQueuePair(1)
    }

    static func isZero(_ bytes: [UInt8]) -> Bool { bytes.allSatisfy { $0 == 0 } }

    @Test func unflushedDataIsLostAndFlushedDataSurvives() throws {
        let harness = try Self.harness()
        let (_, flushed) = try harness.writePattern(lba: 0, blocks: 4, seed: 1)
        #expect(harness.execute(.flush(nsid: 1), qid: 1).status.isSuccess)
        let (_, fua) = try harness.writePattern(lba: 10, blocks: 4, seed: 2, fua: true)
        try harness.writePattern(lba: 20, blocks: 4, seed: 3)
        // Overwrite part of the flushed range without flushing: the old data must come back.
        try harness.writePattern(lba: 2, blocks: 1, seed: 4)
        #expect(harness.controller.statistics.dirtyCachedBlocks == 5)
        // Before the cut, reads see the cache.
        #expect(try harness.read(lba: 20, blocks: 4).1 == Harness.pattern(2048, seed: 3))

        harness.controller.powerCut()
        try Self.restart(harness)
        #expect(try harness.read(lba: 0, blocks: 4).1 == flushed)
        #expect(try harness.read(lba: 10, blocks: 4).1 == fua)
        #expect(Self.isZero(try harness.read(lba: 20, blocks: 4).1))
        #expect(harness.controller.statistics.dirtyCachedBlocks == 0)
    }

    @Test(arguments: [ControllerConfiguration.ShutdownNotification.normal, .abrupt])
    func shutdownPersistsEverything(_ kind: ControllerConfiguration.ShutdownNotification) throws {
        let harness = try Self.harness()
        let (_, data) = try harness.writePattern(lba: 100, blocks: 8, seed: 5)
        var cc = ControllerConfiguration(rawValue: harness.controller.readRegister32(at: ControllerRegister.cc))
        cc.shn = kind
        harness.controller.writeRegister32(cc.rawValue, at: ControllerRegister.cc)
        #expect(harness.csts.shst == .complete)
        harness.controller.powerCut()
        try Self.restart(harness)
        #expect(try harness.read(lba: 100, blocks: 8).1 == data)
    }

    /// `shutdownPersistsWriteCache = false`: the handshake completes, but only flushed and FUA
    /// data survives the cut that follows.
    @Test(arguments: [ControllerConfiguration.ShutdownNotification.normal, .abrupt])
    func nonPersistingShutdownLosesUnflushedWrites(_ kind: ControllerConfiguration.ShutdownNotification) throws {
        let harness = try Self.harness { $0.shutdownPersistsWriteCache = false }
        let (_, flushed) = try harness.writePattern(lba: 0, blocks: 4, seed: 1)
        #expect(harness.execute(.flush(nsid: 1), qid: 1).status.isSuccess)
        let (_, fua) = try harness.writePattern(lba: 10, blocks: 4, seed: 2, fua: true)
        try harness.writePattern(lba: 100, blocks: 8, seed: 5)
        var cc = ControllerConfiguration(rawValue: harness.controller.readRegister32(at: ControllerRegister.cc))
        cc.shn = kind
        harness.controller.writeRegister32(cc.rawValue, at: ControllerRegister.cc)
        #expect(harness.csts.shst == .complete)
        #expect(harness.controller.statistics.dirtyCachedBlocks == 8)
        harness.controller.powerCut()
        try Self.restart(harness)
        #expect(try harness.read(lba: 0, blocks: 4).1 == flushed)
        #expect(try harness.read(lba: 10, blocks: 4).1 == fua)
        #expect(Self.isZero(try harness.read(lba: 100, blocks: 8).1))
    }

    @Test func withoutCacheEveryWriteIsDurable() throws {
        let harness = try Self.harness { $0.volatileWriteCache = false }
        let (_, data) = try harness.writePattern(lba: 7, blocks: 3, seed: 6)
        #expect(harness.controller.statistics.dirtyCachedBlocks == 0)
        // Flush is still a valid command.
        #expect(harness.execute(.flush(nsid: 1), qid: 1).status.isSuccess)
        harness.controller.powerCut()
        try Self.restart(harness)
        #expect(try harness.read(lba: 7, blocks: 3).1 == data)
    }

    @Test func disabledCacheWritesThroughAndDisablingPersists() throws {
        let harness = try Self.harness()
        let (_, cached) = try harness.writePattern(lba: 0, blocks: 2, seed: 7)
        // Turning the cache off persists what it held; later writes go straight to media.
        #expect(harness.execute(.setFeatures(.volatileWriteCache, value: 0)).status.isSuccess)
        let (_, direct) = try harness.writePattern(lba: 2, blocks: 2, seed: 8)
        #expect(harness.controller.statistics.dirtyCachedBlocks == 0)
        harness.controller.powerCut()
        try Self.restart(harness)
        #expect(try harness.read(lba: 0, blocks: 2).1 == cached)
        #expect(try harness.read(lba: 2, blocks: 2).1 == direct)
        // After power-on the cache is enabled again (feature default).
        #expect(harness.execute(.getFeatures(.volatileWriteCache)).dw0 == 1)
    }

    @Test func tornCacheKeepsASeededSubset() throws {
        func survivors(seed: UInt64) throws -> [Bool] {
            let harness = try Self.harness()
            for block in 0..<64 { try harness.writePattern(lba: UInt64(block), blocks: 1, seed: UInt8(block)) }
            harness.controller.powerCut(survivingFraction: 0.5, seed: seed)
            try Self.restart(harness)
            return try (0..<64).map { block in
                let data = try harness.read(lba: UInt64(block), blocks: 1).1
                if Self.isZero(data) { return false }
                #expect(data == Harness.pattern(512, seed: UInt8(block)), "a surviving block is whole")
                return true
            }
        }
        let first = try survivors(seed: 42)
        #expect(first == (try survivors(seed: 42)))
        let kept = first.filter { $0 }.count
        #expect(kept > 0 && kept < 64)
        let all = try {
            let harness = try Self.harness()
            try harness.writePattern(lba: 0, blocks: 8, seed: 9)
            harness.controller.powerCut(survivingFraction: 1)
            try Self.restart(harness)
            return try harness.read(lba: 0, blocks: 8).1
        }()
        #expect(all == Harness.pattern(4096, seed: 9))
    }

    @Test func deallocationIsCachedToo() throws {
        let harness = try Self.harness()
        let (_, data) = try harness.writePattern(lba: 0, blocks: 2, seed: 10, fua: true)
        #expect(harness.execute(.writeZeroes(nsid: 1, lba: 0, blocks: 2, deallocate: true), qid: 1).status.isSuccess)
        #expect(Self.isZero(try harness.read(lba: 0, blocks: 2).1))
        harness.controller.powerCut()
        try Self.restart(harness)
        // The deallocation was not flushed: the durable data comes back.
        #expect(try harness.read(lba: 0, blocks: 2).1 == data)
    }

    @Test func powerCutCountsUnsafeShutdown() throws {
        let harness = try Self.harness()
        harness.controller.powerCut()
        try Self.restart(harness)
        let buffer = try harness.allocate(4096)
        #expect(try harness.execute(.getLogPage(.smartHealth, byteCount: 512), buffer: buffer).status.isSuccess)
        #expect(buffer.address.load(fromByteOffset: 144, as: UInt64.self) == 1)
    }

    /// Flush with NSID FFFFFFFFh applies to every namespace (VWC bits 2:1 = 11b); an NSID that is
    /// neither an active namespace nor FFFFFFFFh is Invalid Namespace or Format (0Bh).
    @Test func flushOfEveryNamespaceAndInvalidNamespace() throws {
        let harness = try Self.harness { $0.namespaces = [MockNamespace(blockCount: 1000), MockNamespace(blockCount: 1000)] }
        let (_, first) = try harness.writePattern(nsid: 1, lba: 3, blocks: 2, seed: 41)
        let (_, second) = try harness.writePattern(nsid: 2, lba: 5, blocks: 2, seed: 42)
        #expect(harness.controller.statistics.dirtyCachedBlocks == 4)
        for nsid: UInt32 in [0, 3, 0xFFFF_FFFE] {
            let status = harness.execute(.flush(nsid: nsid), qid: 1).status
            #expect(status.code == 0x0B && status.type == .generic, "NSID \(nsid)")
        }
        #expect(harness.controller.statistics.dirtyCachedBlocks == 4)
        #expect(harness.execute(.flush(nsid: 0xFFFF_FFFF), qid: 1).status.isSuccess)
        #expect(harness.controller.statistics.dirtyCachedBlocks == 0)
        harness.controller.powerCut()
        try Self.restart(harness)
        #expect(try harness.read(nsid: 1, lba: 3, blocks: 2).1 == first)
        #expect(try harness.read(nsid: 2, lba: 5, blocks: 2).1 == second)
    }

    /// Write Zeroes with FUA (CDW12 bit 30) is durable at completion; without it the zeros sit in
    /// the cache like any write, and a power cut brings the old data back.
    @Test func writeZeroesWithAndWithoutFUA() throws {
        let harness = try Self.harness()
        let (_, data) = try harness.writePattern(lba: 0, blocks: 4, seed: 43, fua: true)
        #expect(harness.execute(.writeZeroes(nsid: 1, lba: 0, blocks: 2, fua: true), qid: 1).status.isSuccess)
        #expect(harness.execute(.writeZeroes(nsid: 1, lba: 2, blocks: 2), qid: 1).status.isSuccess)
        #expect(harness.controller.statistics.dirtyCachedBlocks == 2)
        harness.controller.powerCut()
        try Self.restart(harness)
        let after = try harness.read(lba: 0, blocks: 4).1
        #expect(Self.isZero(Array(after[0..<1024])))
        #expect(Array(after[1024...]) == Array(data[1024...]))
    }

    /// A surprise removal ends in a power cycle: what only the cache held is gone and the SMART
    /// log (bytes 144-159) counts one more unsafe shutdown.
    @Test func reinsertionIsAPowerCycle() throws {
        let harness = try Self.harness()
        let (_, durable) = try harness.writePattern(lba: 0, blocks: 2, seed: 44, fua: true)
        try harness.writePattern(lba: 0, blocks: 1, seed: 45)
        harness.controller.inject(.surpriseRemoval)
        harness.controller.reinsert()
        #expect(harness.controller.statistics.dirtyCachedBlocks == 0)
        try Self.restart(harness)
        #expect(try harness.read(lba: 0, blocks: 2).1 == durable)
        let buffer = try harness.allocate(4096)
        #expect(try harness.execute(.getLogPage(.smartHealth, byteCount: 512), buffer: buffer).status.isSuccess)
        #expect(buffer.address.load(fromByteOffset: 144, as: UInt64.self) == 1)
        #expect(buffer.address.load(fromByteOffset: 112, as: UInt64.self) == 2)  // power cycles
    }
}
