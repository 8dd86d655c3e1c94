import MockNVMe
import NVMe
import Testing
@testable import SCSIController

/// stop() and deinit make every namespace's cached writes durable. The mock is set to a shutdown
/// that does not write its cache back (`shutdownPersistsWriteCache = false`: a controller may
/// rely on the host's Flush), so only the driver's Flushes - one per namespace, or one for all -
/// can save these writes from the power cut.
@Suite struct TwoNamespaceShutdownTests {
    static func rig() throws -> Rig {
        try Rig {
            $0.volatileWriteCache = true
            $0.shutdownPersistsWriteCache = false
            $0.namespaces = [MockNamespace(blockCount: 1 << 16, blockSize: 512), MockNamespace(blockCount: 1 << 14, blockSize: 4096)]
        }
    }

    /// Writes 16 KiB (without FUA or Flush) to each namespace; returns the sources by namespace index.
    static func writeBoth(_ rig: Rig) throws -> [[UInt8]] {
        try rig.controller.namespaces.enumerated().map { index, namespace in
            let source = try rig.patterned(bytes: 16 << 10, seed: UInt64(index + 1))
            #expect(rig.queue.write(nsid: namespace.id, lba: 8, blocks: (16 << 10) / namespace.blockSize, from: source).succeeded)
            return Array(UnsafeRawBufferPointer(start: source.address, count: source.length))
        }
    }

    /// What namespace `index` (0-based) holds at the written blocks.
    static func media(_ mock: MockController, _ index: Int) -> [UInt8] {
        let blockSize = index == 0 ? 512 : 4096
        return mock.mediaContents(nsid: UInt32(index + 1), lba: 8, count: (16 << 10) / blockSize)
    }

    /// Whether namespace `index` holds `source` at the written blocks (a Bool, for short messages).
    static func holds(_ mock: MockController, _ index: Int, _ source: [UInt8]) -> Bool { media(mock, index) == source }

    /// The premise: without the driver's Flush the cut loses the writes, even after a shutdown.
    @Test func withoutAFlushTheCutLosesTheWrites() throws {
        let rig = try Self.rig()
        _ = try Self.writeBoth(rig)
        var cc = ControllerConfiguration(rawValue: rig.mock.readRegister32(at: ControllerRegister.cc))
        cc.shn = .normal
        rig.mock.writeRegister32(cc.rawValue, at: ControllerRegister.cc)
        rig.mock.powerCut()
        for index in 0..<2 { #expect(Self.media(rig.mock, index).allSatisfy { $0 == 0 }, "namespace \(index + 1)") }
    }

    @Test func stopFlushesEveryNamespace() throws {
        let rig = try Self.rig()
        #expect(rig.controller.namespaces.count == 2)
        let sources = try Self.writeBoth(rig)
        try rig.controller.stop()
        #expect(rig.mock.status.shst == .complete)
        rig.mock.powerCut()
        for index in 0..<2 {
            let survived = Self.holds(rig.mock, index, sources[index])
            #expect(survived, "namespace \(index + 1) lost its unflushed writes")
        }
    }

    @Test func deinitFlushesEveryNamespace() throws {
        let mock: MockController
        let sources: [[UInt8]]
        do {
            let rig = try Self.rig()
            mock = rig.mock
            #expect(rig.controller.namespaces.count == 2)
            sources = try Self.writeBoth(rig)
        }
        #expect(mock.status.shst == .complete)
        mock.powerCut()
        for index in 0..<2 {
            let survived = Self.holds(mock, index, sources[index])
            #expect(survived, "namespace \(index + 1) lost its unflushed writes")
        }
    }
}
