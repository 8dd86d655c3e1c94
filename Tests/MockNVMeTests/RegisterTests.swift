import MockNVMe
import NVMe
import Testing

@Suite("Registers")
struct RegisterTests {
    @Test func capabilitiesReflectConfiguration() throws {
        var configuration = MockConfiguration()
        configuration.mqes = 255
        configuration.timeout = 7
        configuration.doorbellStride = 2
        configuration.mpsmin = 0
        configuration.mpsmax = 3
        let controller = MockController(configuration: configuration)
        let cap = ControllerCapabilities(rawValue: controller.readRegister64(at: ControllerRegister.cap))
        #expect(cap.mqes == 255)
        #expect(cap.to == 7)
        #expect(cap.dstrd == 2)
        #expect(cap.mpsmin == 0 && cap.mpsmax == 3)
        #expect(cap.cqr)
        #expect(cap.supportsNVMCommandSet)
        let low = controller.readRegister32(at: ControllerRegister.cap)
        let high = controller.readRegister32(at: ControllerRegister.cap + 4)
        #expect(UInt64(high) << 32 | UInt64(low) == cap.rawValue)
        let version = ControllerVersion(rawValue: controller.readRegister32(at: ControllerRegister.vs))
        #expect(version.major == 2 && version.minor == 0)
    }

    @Test func enableSetsReadyAndDisableClearsIt() throws {
        let harness = try Harness(enable: false)
        #expect(!harness.csts.rdy)
        harness.enable()
        #expect(harness.csts.rdy)
        #expect(!harness.csts.cfs)
        harness.controller.writeRegister32(0, at: ControllerRegister.cc)
        #expect(!harness.csts.rdy)
    }

    @Test func invalidAdminQueueSizeIsFatal() throws {
        let harness = try Harness(enable: false)
        // AQA.ASQS 0h (bits 11:0, 0's based) is a one-entry admin submission queue, below the
        // specification's minimum of two entries. The throwing initializer refuses that size, so
        // the register value is written as it is; ACQS Fh is a valid 16 entries.
        let oneEntryAdminSQ = AdminQueueAttributes(rawValue: 0x000F_0000)
        #expect(oneEntryAdminSQ.asqs == 0x000 && oneEntryAdminSQ.acqs == 0x00F)
        harness.controller.writeRegister32(oneEntryAdminSQ.rawValue, at: ControllerRegister.aqa)
        harness.enable()
        #expect(!harness.csts.rdy)
        #expect(harness.csts.cfs)
        // A reset (EN 1 -> 0) clears CFS; a valid configuration then enables.
        harness.controller.writeRegister32(0, at: ControllerRegister.cc)
        #expect(!harness.csts.cfs)
        harness.controller.writeRegister32(try AdminQueueAttributes(submissionEntryCount: 16, completionEntryCount: 16).rawValue,
                                           at: ControllerRegister.aqa)
        harness.enable()
        #expect(harness.csts.rdy)
    }

    @Test func pageSizeOutsideCapabilitiesIsFatal() throws {
        var configuration = MockConfiguration()
        configuration.mpsmax = 1
        let harness = try Harness(configuration, enable: false)
        harness.enable(mps: 2)
        #expect(!harness.csts.rdy)
        #expect(harness.csts.cfs)
    }

    /// With CC.MPS = 1 (8 KiB pages) an ASQ on a 4 KiB boundary is misaligned: CC.EN = 1 sets
    /// CSTS.CFS and leaves RDY clear. Buffers of 2 MiB are 2 MiB aligned, so the IOVAs are known.
    @Test func misalignedAdminQueueIsFatal() throws {
        let harness = try Harness(enable: false)
        let rings = try harness.allocate(2 << 20)
        #expect(rings.iova % 0x20_0000 == 0)
        harness.controller.writeRegister64(rings.iova + 0x1000, at: ControllerRegister.asq)
        harness.controller.writeRegister64(rings.iova + 0x4000, at: ControllerRegister.acq)
        harness.enable(mps: 1)
        #expect(harness.csts.cfs)
        #expect(!harness.csts.rdy)
        // A reset clears CFS; 8 KiB aligned rings then enable.
        harness.controller.writeRegister32(0, at: ControllerRegister.cc)
        harness.controller.writeRegister64(rings.iova + 0x2000, at: ControllerRegister.asq)
        harness.enable(mps: 1)
        #expect(harness.csts.rdy && !harness.csts.cfs)
        // ASQ/ACQ bits 11:0 are reserved: a write there reads back as zero.
        harness.controller.writeRegister64(rings.iova + 0x123, at: ControllerRegister.acq)
        #expect(harness.controller.readRegister64(at: ControllerRegister.acq) == rings.iova)
    }

    @Test func readOnlyAndReservedFieldsIgnoreWrites() throws {
        let harness = try Harness()
        let controller = harness.controller
        let cap = controller.readRegister64(at: ControllerRegister.cap)
        controller.writeRegister64(0, at: ControllerRegister.cap)
        #expect(controller.readRegister64(at: ControllerRegister.cap) == cap)
        let vs = controller.readRegister32(at: ControllerRegister.vs)
        controller.writeRegister32(0xFFFF_FFFF, at: ControllerRegister.vs)
        #expect(controller.readRegister32(at: ControllerRegister.vs) == vs)
        controller.writeRegister32(0, at: ControllerRegister.csts)
        #expect(harness.csts.rdy)
        // CC reserved bits (3:1, 31:24) read back as zero.
        let cc = controller.readRegister32(at: ControllerRegister.cc)
        controller.writeRegister32(cc | 0xFF00_000E, at: ControllerRegister.cc)
        #expect(controller.readRegister32(at: ControllerRegister.cc) == cc)
        // CC.MPS cannot change while enabled.
        var changed = ControllerConfiguration(rawValue: cc)
        changed.mps = 1
        controller.writeRegister32(changed.rawValue, at: ControllerRegister.cc)
        #expect(ControllerConfiguration(rawValue: controller.readRegister32(at: ControllerRegister.cc)).mps == 0)
        // AQA reserved bits.
        controller.writeRegister32(0xFFFF_FFFF, at: ControllerRegister.aqa)
        #expect(controller.readRegister32(at: ControllerRegister.aqa) == 0x0FFF_0FFF)
    }

    @Test(arguments: [ControllerConfiguration.ShutdownNotification.normal, .abrupt])
    func shutdownReportsComplete(_ kind: ControllerConfiguration.ShutdownNotification) throws {
        let harness = try Harness()
        var cc = ControllerConfiguration(rawValue: harness.controller.readRegister32(at: ControllerRegister.cc))
        cc.shn = kind
        harness.controller.writeRegister32(cc.rawValue, at: ControllerRegister.cc)
        #expect(harness.csts.shst == .complete)
    }

    @Test func resetTearsDownQueues() throws {
        let harness = try Harness()
        #expect(try harness.createQueuePair(1) == (.success, .success))
        try harness.controller.reset()
        #expect(!harness.csts.rdy)
        #expect(ControllerConfiguration(rawValue: harness.controller.readRegister32(at: ControllerRegister.cc)).en == false)
        // AQA/ASQ/ACQ are kept: enabling again works, and queue 1 no longer exists.
        try harness.installAdminQueue(entries: 16, keepingAQA: true)
        harness.enable()
        #expect(harness.csts.rdy)
        let delete = harness.execute(.deleteIOSubmissionQueue(id: 1))
        #expect(delete.status.matches(.invalidQueueIdentifier))
    }

    /// CC.EN 1 -> 0 written to the register: RDY clears, every I/O queue and outstanding command
    /// is gone, and the queues' doorbells are invalid after enabling again.
    @Test func disablingThroughCCTearsDownQueues() throws {
        let harness = try Harness.withQueuePair()
        harness.controller.inject(.neverComplete(.io(.flush, count: 1)))
        harness.submit(.flush(nsid: 1), qid: 1)
        #expect(harness.controller.statistics.heldCommands == 1)
        harness.submit(.asynchronousEventRequest())
        #expect(harness.controller.statistics.outstandingAsyncEventRequests == 1)
        harness.controller.writeRegister32(0, at: ControllerRegister.cc)
        #expect(!harness.csts.rdy && !harness.csts.cfs)
        #expect(harness.controller.statistics.heldCommands == 0)
        #expect(harness.controller.statistics.outstandingAsyncEventRequests == 0)
        #expect(harness.poll(qid: 1).isEmpty)  // dropped, not completed
        try harness.resetController()
        #expect(harness.csts.rdy)
        #expect(harness.execute(.deleteIOSubmissionQueue(id: 1)).status.matches(.invalidQueueIdentifier))
        #expect(harness.execute(.deleteIOCompletionQueue(id: 1)).status.matches(.invalidQueueIdentifier))
        // SQ 1's doorbell now names no queue: Write to Invalid Doorbell Register (info 00h).
        let aer = harness.submit(.asynchronousEventRequest())
        harness.controller.writeRegister32(1, at: ControllerRegister.submissionTailDoorbell(queueID: 1, stride: 0))
        let event = harness.poll()
        #expect(event.map(\.commandID) == [aer])
        #expect(event.first.map { ($0.dw0 >> 8) & 0xFF } == 0x00)
    }

    @Test func doorbellsHonourTheStride() throws {
        var configuration = MockConfiguration()
        configuration.doorbellStride = 3  // 32 bytes apart: SQ0 tail at 1000h, CQ0 head at 1020h
        let harness = try Harness(configuration)
        let completion = harness.execute(.identify(.controller), buffer: try harness.allocate(4096))
        #expect(completion.status.isSuccess)
        // A write between two doorbells of this stride is not a doorbell: the command waits.
        let id = harness.place(.getFeatures(.arbitration))
        for offset in [4, 8, 16, 0x1C] {
            harness.controller.writeRegister32(2, at: ControllerRegister.doorbellBase + offset)
        }
        #expect(harness.poll(ringHead: false).isEmpty)
        // The SQ 0 tail doorbell at stride 0 runs it.
        harness.controller.writeRegister32(2, at: ControllerRegister.doorbellBase)
        let ran = harness.poll(ringHead: false)
        #expect(ran.map(\.commandID) == [id])
        // The CQ 0 head doorbell is at 1000h + 1 x 32: a head beyond what was posted is an
        // Invalid Doorbell Write Value there (logged), and no doorbell 4 bytes off.
        harness.controller.writeRegister32(9, at: ControllerRegister.doorbellBase + 36)
        #expect(harness.controller.statistics.errorCount == 0)
        harness.controller.writeRegister32(9, at: ControllerRegister.doorbellBase + 32)
        #expect(harness.controller.statistics.errorCount == 1)
        harness.ringHeadDoorbell(qid: 0)
        #expect(harness.execute(.getFeatures(.arbitration)).status.isSuccess)
    }

    @Test func invalidDoorbellRegisterRaisesAsyncEvent() throws {
        let harness = try Harness()
        let aer = harness.submit(.asynchronousEventRequest())
        #expect(harness.poll().isEmpty)
        // SQ 5 tail doorbell: queue 5 does not exist.
        harness.controller.writeRegister32(1, at: ControllerRegister.submissionTailDoorbell(queueID: 5, stride: 0))
        let events = harness.poll()
        #expect(events.count == 1)
        #expect(events.first?.commandID == aer)
        #expect(events.first?.status.isSuccess == true)
        let dw0 = events.first?.dw0 ?? 0
        #expect(dw0 & 0b111 == 0)          // error status
        #expect((dw0 >> 8) & 0xFF == 0x00) // write to invalid doorbell register
        #expect((dw0 >> 16) & 0xFF == 0x01) // error information log
    }

    @Test func invalidDoorbellValueRaisesAsyncEventLater() throws {
        let harness = try Harness()
        // No AER outstanding: the event waits for one.
        harness.controller.writeRegister32(999, at: ControllerRegister.submissionTailDoorbell(queueID: 0, stride: 0))
        #expect(harness.poll().isEmpty)
        let completion = harness.execute(.asynchronousEventRequest())
        #expect(completion.status.isSuccess)
        #expect((completion.dw0 >> 8) & 0xFF == 0x01) // invalid doorbell write value
        // Error events stay masked until the host reads the Error Information log with RAE = 0.
        #expect(try harness.execute(.getLogPage(.errorInformation, byteCount: 64), buffer: harness.allocate(4096)).status.isSuccess)
        // A CQ head beyond what was posted is invalid too.
        let aer = harness.submit(.asynchronousEventRequest())
        harness.controller.writeRegister32(9, at: ControllerRegister.completionHeadDoorbell(queueID: 0, stride: 0))
        let events = harness.poll()
        #expect(events.map(\.commandID) == [aer])
        #expect((events.first.map { ($0.dw0 >> 8) & 0xFF }) == 0x01)
    }

    @Test func surpriseRemovalReadsAllOnes() throws {
        let harness = try Harness()
        harness.controller.inject(.surpriseRemoval)
        #expect(harness.controller.readRegister32(at: ControllerRegister.csts) == 0xFFFF_FFFF)
        #expect(harness.controller.readRegister64(at: ControllerRegister.cap) == .max)
        harness.submit(.identify(.controller))
        harness.controller.reinsert()
        #expect(harness.poll().isEmpty)
        #expect(!harness.csts.rdy)
    }
}
