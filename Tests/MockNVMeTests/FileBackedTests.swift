import DMAMapper
import Foundation
import MockNVMe
import NVMe
import Testing

/// Namespaces whose durable layer is a sparse file: a power cut followed by a new controller on
/// the same file (a "reboot") must see exactly what was durable.
@Suite("File-backed namespaces")
struct FileBackedTests {
    /// A fresh folder for one test's files; the test removes it.
    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mocknvme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func configuration(_ path: String, blockCount: UInt64 = 1 << 16, blockSize: Int = 512) -> MockConfiguration {
        var configuration = MockConfiguration()
        configuration.namespaces = [MockNamespace(blockCount: blockCount, blockSize: blockSize, backingFile: path)]
        return configuration
    }

    /// Boots a controller on the configuration's files (power on, enable, queue pair 1).
    static func boot(_ configuration: MockConfiguration) throws -> Harness {
        let harness = try Harness(configuration, controller: try MockController.open(configuration: configuration))
        try harness.createQueuePair(1)
        return harness
    }

    /// The bytes of the file itself, read around the mock.
    static func fileBytes(_ path: String, lba: UInt64, blocks: Int, blockSize: Int = 512) throws -> [UInt8] {
        let handle = try #require(FileHandle(forReadingAtPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: lba * UInt64(blockSize))
        return [UInt8](try handle.read(upToCount: blocks * blockSize) ?? Data())
    }

    static func isZero(_ bytes: [UInt8]) -> Bool { bytes.allSatisfy { $0 == 0 } }

    @Test func flushedDataSurvivesPowerCutAndReboot() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let configuration = Self.configuration(folder.appendingPathComponent("ns1.img").path)

        let first = try Self.boot(configuration)
        let (_, flushed) = try first.writePattern(lba: 0, blocks: 4, seed: 1)
        #expect(first.execute(.flush(nsid: 1), qid: 1).status.isSuccess)
        try first.writePattern(lba: 2, blocks: 1, seed: 9)  // cached over flushed data: must not win
        first.controller.powerCut()

        let second = try Self.boot(configuration)
        #expect(try second.read(lba: 0, blocks: 4).1 == flushed)
        #expect(second.controller.mediaContents(nsid: 1, lba: 0, count: 4) == flushed)
    }

    @Test func unflushedWritesAreNotInTheFileButFUAWritesAre() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("ns1.img").path
        let configuration = Self.configuration(path)

        let first = try Self.boot(configuration)
        let (_, cached) = try first.writePattern(lba: 20, blocks: 4, seed: 3)
        let (_, fua) = try first.writePattern(lba: 10, blocks: 4, seed: 2, fua: true)
        #expect(first.controller.statistics.dirtyCachedBlocks == 4)
        // Before the cut the host reads the cache; the file holds only the FUA write.
        #expect(try first.read(lba: 20, blocks: 4).1 == cached)
        #expect(Self.isZero(try Self.fileBytes(path, lba: 20, blocks: 4)))
        #expect(try Self.fileBytes(path, lba: 10, blocks: 4) == fua)
        first.controller.powerCut()

        #expect(Self.isZero(try Self.fileBytes(path, lba: 20, blocks: 4)))
        let second = try Self.boot(configuration)
        #expect(Self.isZero(try second.read(lba: 20, blocks: 4).1))
        #expect(try second.read(lba: 10, blocks: 4).1 == fua)
    }

    @Test func normalShutdownPersistsEverything() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("ns1.img").path
        let configuration = Self.configuration(path, blockSize: 4096)

        let first = try Self.boot(configuration)
        // Blocks 50-79 span two cache chunks of 64 blocks, so persisting writes two runs.
        let (_, data) = try first.writePattern(lba: 50, blocks: 30, blockSize: 4096, seed: 5)
        var cc = ControllerConfiguration(rawValue: first.controller.readRegister32(at: ControllerRegister.cc))
        cc.shn = .normal
        first.controller.writeRegister32(cc.rawValue, at: ControllerRegister.cc)
        #expect(first.csts.shst == .complete)
        #expect(first.controller.statistics.dirtyCachedBlocks == 0)
        #expect(try Self.fileBytes(path, lba: 50, blocks: 30, blockSize: 4096) == data)
        first.controller.powerCut()

        let second = try Self.boot(configuration)
        #expect(try second.read(lba: 50, blocks: 30, blockSize: 4096).1 == data)
    }

    @Test func writeZeroesAndTornCacheReachTheFile() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("ns1.img").path
        let configuration = Self.configuration(path)

        let first = try Self.boot(configuration)
        try first.writePattern(lba: 0, blocks: 8, seed: 1, fua: true)
        #expect(first.execute(.writeZeroes(nsid: 1, lba: 2, blocks: 4), qid: 1).status.isSuccess)
        let (_, survivor) = try first.writePattern(lba: 100, blocks: 3, seed: 4)
        first.controller.powerCut(survivingFraction: 1)  // every cached block happens to be written back

        let second = try Self.boot(configuration)
        let after = try second.read(lba: 0, blocks: 8).1
        #expect(after[0..<1024] == Harness.pattern(4096, seed: 1)[0..<1024])
        #expect(Self.isZero(Array(after[1024..<3072])))
        #expect(after[3072...] == Harness.pattern(4096, seed: 1)[3072...])
        #expect(try second.read(lba: 100, blocks: 3).1 == survivor)
    }

    /// Deallocation is a write subject to the volatile cache, for a file as in memory: unflushed,
    /// a power cut brings the data back; flushed, the file reads as zeros.
    @Test func deallocationFollowsTheWriteCache() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("ns1.img").path
        let configuration = Self.configuration(path)
        let first = try Self.boot(configuration)
        let (_, data) = try first.writePattern(lba: 60, blocks: 8, seed: 6, fua: true)  // spans two chunks
        let ranges = try first.allocate(4096)
        ranges.address.storeBytes(of: DatasetManagementRange(blockCount: 8, startingLBA: 60), toByteOffset: 0, as: DatasetManagementRange.self)
        let deallocate = try SubmissionQueueEntry.datasetManagement(nsid: 1, numberOfRanges: 1, attributes: DatasetManagementAttribute.deallocate)
        #expect(first.execute(deallocate, buffer: ranges, qid: 1).status.isSuccess)
        #expect(Self.isZero(try first.read(lba: 60, blocks: 8).1))
        #expect(try Self.fileBytes(path, lba: 60, blocks: 8) == data)  // not yet in the file
        first.controller.powerCut()

        let second = try Self.boot(configuration)
        #expect(try second.read(lba: 60, blocks: 8).1 == data)
        let again = try second.allocate(4096)  // the first controller's IOMMU went with it
        again.address.copyMemory(from: ranges.address, byteCount: 16)
        #expect(second.execute(deallocate, buffer: again, qid: 1).status.isSuccess)
        #expect(second.execute(.flush(nsid: 1), qid: 1).status.isSuccess)
        #expect(Self.isZero(try Self.fileBytes(path, lba: 60, blocks: 8)))
        second.controller.powerCut()
        let third = try Self.boot(configuration)
        #expect(Self.isZero(try third.read(lba: 60, blocks: 8).1))
    }

    @Test func largeNamespaceMakesASparseFile() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("big.img").path
        let (configuration, controller) = try Self.openLargest(path)
        let blockCount = configuration.namespaces[0].blockCount
        let harness = try Harness(configuration, controller: controller)
        try harness.createQueuePair(1)
        let (_, last) = try harness.writePattern(lba: blockCount - 2, blocks: 2, seed: 7)
        try harness.writePattern(lba: blockCount / 2, blocks: 8, seed: 8)
        #expect(harness.execute(.flush(nsid: 1), qid: 1).status.isSuccess)

        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.size] as? UInt64) == blockCount * 512)
        var info = stat()
        let statResult = stat(path, &info)
        #expect(statResult == 0)
        #expect(info.st_blocks * 512 < 1 << 20)  // a few written blocks, not terabytes
        #expect(try Self.fileBytes(path, lba: blockCount - 2, blocks: 2) == last)
        #expect(Self.isZero(try harness.read(lba: 12_345_678, blocks: 4).1))
    }

    /// 66 TB; ext4 stops files at 16 TiB (EFBIG), so there it falls back to just under that.
    static func openLargest(_ path: String) throws -> (MockConfiguration, MockController) {
        let large = Self.configuration(path, blockCount: 66_000_000_000_000 / 512)
        do {
            return (large, try MockController.open(configuration: large))
        } catch let error as MockStorageError where error.errno == EFBIG {
            let smaller = Self.configuration(path, blockCount: (15 << 40) / 512)
            return (smaller, try MockController.open(configuration: smaller))
        }
    }

    @Test func missingFolderIsAClearError() throws {
        let path = "/nonexistent-\(UUID().uuidString)/ns1.img"
        let error = #expect(throws: MockStorageError.self) {
            try MockController.open(configuration: Self.configuration(path))
        }
        #expect(error?.errno == ENOENT)
        #expect(error?.namespaceID == 1)
        #expect(error?.description.contains(path) == true)
        #expect(error?.description.contains("No such file or directory") == true)
    }

    @Test func fileLargerThanTheNamespaceIsRefused() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("ns1.img").path
        _ = try MockController.open(configuration: Self.configuration(path, blockCount: 2048))
        let error = #expect(throws: MockStorageError.self) {
            try MockController.open(configuration: Self.configuration(path, blockCount: 1024))
        }
        #expect(error?.description.contains("more than the namespace") == true)
        // The refused file kept its size.
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) == 2048 * 512)
    }
}
