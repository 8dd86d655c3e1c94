import NVMe
import MockNVMe
import Testing
@testable import SCSIController

/// Bring-up per NVMe Base 2.0 3.5.1 across geometries.
@Suite struct BringUpTests {
    @Test(arguments: [512, 4096])
    func identifiesNamespacesWithTheirBlockSize(blockSize: Int) throws {
        let rig = try Rig { $0.namespaces = [MockNamespace(blockCount: 1 << 20, blockSize: blockSize),
                                             MockNamespace(blockCount: 1000, blockSize: blockSize)] }
        #expect(rig.controller.namespaces.map(\.id) == [1, 2])
        #expect(rig.controller.namespaces[0].blockSize == blockSize)
        #expect(rig.controller.namespaces[0].blockCount == 1 << 20)
        #expect(rig.controller.namespaces[1].blockCount == 1000)
        // CC as the spec requires: enabled, IOSQES 6, IOCQES 4, NVM command set; CSTS.RDY set.
        let cc = NVMe.ControllerConfiguration(rawValue: rig.mock.readRegister32(at: ControllerRegister.cc))
        #expect(cc.en && cc.iosqes == 6 && cc.iocqes == 4 && cc.css == 0)
        #expect(rig.mock.status.rdy)
    }

    @Test(arguments: [(UInt8(0), 4 << 20), (UInt8(1), 8192), (UInt8(5), 128 << 10), (UInt8(9), 2 << 20)])
    func mdtsSetsTheCommandSize(mdts: UInt8, expected: Int) throws {
        let rig = try Rig { $0.mdts = mdts }
        #expect(rig.controller.maximumCommandBytes == expected)
        #expect(rig.controller.constraints.maximumSegmentByteCountRead == expected)
        // What the size means: a request of exactly that many bytes is one command, one block more is two.
        let source = try rig.patterned(bytes: expected + 512, seed: UInt64(mdts))
        #expect(rig.queue.write(nsid: rig.nsid, lba: 0, blocks: expected / 512, from: source).commands == 1)
        let longer = rig.queue.write(nsid: rig.nsid, lba: 0, blocks: expected / 512 + 1, from: source)
        #expect(longer.succeeded && longer.commands == 2)
    }

    @Test func pageSizeIsClampedToTheControllerRange() throws {
        let small = try Rig({ $0.mpsmin = 1; $0.mpsmax = 2 })  // 8 KiB ... 16 KiB
        #expect(small.controller.pageSize == 8192)
        let cc = NVMe.ControllerConfiguration(rawValue: small.mock.readRegister32(at: ControllerRegister.cc))
        #expect(cc.mps == 1)
        let large = try Rig({ $0.mpsmax = 4 }, options: { $0.pageSize = 65536 })
        #expect(large.controller.pageSize == 65536)
    }

    @Test func queueCountIsTheSmallerOfAskedAndGranted() throws {
        let one = try Rig { $0.ioQueueCount = 1 }
        #expect(one.controller.ioQueues.count == 1)
        let many = try Rig({ $0.ioQueueCount = 4 }, options: { $0.ioQueueCount = 8 })
        #expect(many.controller.ioQueues.count == 4)
        let asked = try Rig({ $0.ioQueueCount = 16 }, options: { $0.ioQueueCount = 3 })
        #expect(asked.controller.ioQueues.map(\.id) == [1, 2, 3])
    }

    @Test func queueDepthIsBoundedByMQES() throws {
        let rig = try Rig({ $0.mqes = 15 }, options: { $0.ioQueueDepth = 1024 })
        #expect(rig.queue.queuePair.depth == 16)
    }

    @Test func sglIsUsedWhenSupportedAndRefusedWhenNot() throws {
        #expect(try Rig { $0.sglSupported = true }.controller.usesSGL)
        #expect(try !Rig { $0.sglSupported = false }.controller.usesSGL)
        #expect(try !Rig({ $0.sglSupported = true }, options: { $0.dataPointerMode = .prp }).controller.usesSGL)
        #expect(throws: ControllerError.self) {
            try Rig({ $0.sglSupported = false }, options: { $0.dataPointerMode = .sgl })
        }
    }

    @Test func overriddenConstraintsAreValidatedAtStart() throws {
        var overrides = HBAConstraintOverrides.complete(segments: 129, segmentBytes: 64 << 10, maxTransferSize: 64 << 10)
        #expect {
            try Rig(options: { $0.constraints = overrides })
        } throws: { error in
            guard case .unusableValue(.constraint(.maxTransferSize), _, _) = error as? ControllerError else { return false }
            return true
        }
        overrides.maxTransferSize = 129 * (64 << 10)
        let rig = try Rig(options: { $0.constraints = overrides })
        #expect(rig.controller.constraints.maximumSegmentByteCountWrite == 64 << 10)
    }

    @Test func aDeviceThatIsGoneIsNamed() throws {
        let mock = MockController()
        mock.inject(.surpriseRemoval)
        #expect {
            try NVMeController(device: mock)
        } throws: { error in
            guard case .deviceGone = error as? ControllerError else { return false }
            return "\(error)".contains("removed")
        }
    }
}
