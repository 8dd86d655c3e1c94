import Logging
import MockNVMe
import NVMe
import Synchronization
import Testing
@testable import SCSIController

/// Shadow doorbells (NVMe Base 2.0, Doorbell Buffer Config, OACS bit 8): configured at bring-up
/// after the admin queue and before the I/O queues, again after every reset; the I/O queues write
/// a doorbell register only when the controller's EventIdx lies between the old and the new value.
@Suite struct ShadowDoorbellTests {
    struct ShadowRig {
        let rig: Rig
        let shadowController: ShadowDoorbellController
        var device: InterposedDevice { rig.device! }
    }

    func shadowRig(accept: Bool = true, mock configure: (inout MockConfiguration) -> Void = { _ in },
                   options: (inout ControllerOptions) -> Void = { _ in }) throws -> ShadowRig {
        var configuration = MockConfiguration()
        configure(&configuration)
        let shadow = ShadowDoorbellController(mock: MockController(configuration: configuration))
        let device = InterposedDevice(shadow.mock)
        device.configure { shadow.install(&$0, accept: accept) }
        return ShadowRig(rig: try Rig(device: device, options: options), shadowController: shadow)
    }

    /// The rule, checked against what it means: EventIdx is the index whose passing the controller
    /// wants to hear about, so the register is written exactly when EventIdx lies in [old, new)
    /// going round the ring - for every old, new and EventIdx of an 8-entry ring and of a
    /// 65536-entry one near its wrap.
    @Test func theRegisterIsWrittenExactlyWhenEventIdxWasPassed() {
        func passed(_ event: Int, old: Int, new: Int, size: Int) -> Bool {
            (event - old + size) % size < (new - old + size) % size
        }
        for old in 0..<8 {
            for new in 0..<8 where new != old {
                for event in 0..<8 {
                    #expect(Doorbell.mustWrite(UInt16(new), old: UInt16(old), event: UInt16(event))
                        == passed(event, old: old, new: new, size: 8), "old \(old) new \(new) event \(event)")
                }
            }
        }
        let edge = [65530, 65533, 65534, 65535, 0, 1, 2, 5]
        for old in edge {
            for new in edge where new != old {
                for event in edge {
                    #expect(Doorbell.mustWrite(UInt16(new), old: UInt16(old), event: UInt16(event))
                        == passed(event, old: old, new: new, size: 65536), "old \(old) new \(new) event \(event)")
                }
            }
        }
    }

    @Test func bringUpConfiguresTheBuffersAfterNumberOfQueuesAndBeforeTheIOQueues() throws {
        let setup = try shadowRig()
        let configurations = setup.shadowController.configurations
        #expect(configurations.count == 1)
        let config = try #require(configurations.first)
        #expect(config.shadowIOVA != 0 && config.shadowIOVA % 4096 == 0)
        #expect(config.eventIndexIOVA != 0 && config.eventIndexIOVA % 4096 == 0 && config.eventIndexIOVA != config.shadowIOVA)
        let opcodes = setup.shadowController.adminOpcodes
        let configIndex = try #require(opcodes.firstIndex(of: AdminOpcode.doorbellBufferConfig.rawValue))
        let queuesIndex = try #require(opcodes.firstIndex(of: AdminOpcode.createIOCompletionQueue.rawValue))
        #expect(configIndex < queuesIndex)
        #expect(opcodes[..<configIndex].contains(AdminOpcode.setFeatures.rawValue))  // Number of Queues
        #expect(setup.rig.controller.usesShadowDoorbells && setup.rig.queue.queuePair.usesShadowDoorbells)
    }

    /// Step by step on queue 1, the controller moving EventIdx by hand: the register is written
    /// when EventIdx was passed and not otherwise, the shadow slot always holds the latest value,
    /// and `mmioDoorbellWrites` counts what reached the register.
    @Test func theSubmissionDoorbellFollowsEventIdx() throws {
        let setup = try shadowRig()
        let control = setup.shadowController
        control.followsDoorbells = false
        let qp = setup.rig.queue.queuePair
        let register = setup.device.submissionDoorbell(1)
        let sink = try setup.rig.controller.mapper.allocate(length: 4096)
        var tag: UInt64 = 0
        func submit(_ count: Int) {
            for _ in 0..<count {
                tag += 1
                #expect(qp.submit(.io(.read, nsid: setup.rig.nsid, lba: 0, blocks: 8), dataIOVA: sink.iova, dataLength: 4096, tag: tag) == .submitted)
            }
            qp.ringDoorbell()
        }
        let (registerBefore, countedBefore) = (setup.device.writes(at: register), qp.mmioDoorbellWrites)
        func registerWrites() -> Int { setup.device.writes(at: register) - registerBefore }

        submit(1)  // tail 0 -> 1, EventIdx 0 passed
        #expect(registerWrites() == 1 && control.shadow(slot: 2) == 1)
        #expect(qp.poll { _ in } == 1)

        submit(2)  // tail 1 -> 3, EventIdx still 0: the controller already knows to look
        #expect(registerWrites() == 1 && control.shadow(slot: 2) == 3)
        #expect(qp.poll { _ in } == 0)  // the mock was not rung
        control.kick(queueID: 1)
        #expect(qp.poll { _ in } == 2)

        control.setEventIndex(slot: 2, to: 3)
        submit(1)  // 3 -> 4 passes 3
        #expect(registerWrites() == 2 && control.shadow(slot: 2) == 4)
        control.setEventIndex(slot: 2, to: 5)
        submit(1)  // 4 -> 5 does not pass 5
        #expect(registerWrites() == 2 && control.shadow(slot: 2) == 5)
        submit(1)  // 5 -> 6 passes 5
        #expect(registerWrites() == 3 && control.shadow(slot: 2) == 6)
        #expect(qp.mmioDoorbellWrites - countedBefore >= registerWrites())
    }

    /// The CQ head doorbell follows the same rule with the CQ's EventIdx slot.
    @Test func theCompletionDoorbellFollowsEventIdx() throws {
        let setup = try shadowRig()
        let control = setup.shadowController
        control.followsDoorbells = false
        let qp = setup.rig.queue.queuePair
        let register = setup.device.completionDoorbell(1)
        let before = setup.device.writes(at: register)
        let sink = try setup.rig.controller.mapper.allocate(length: 4096)
        control.setEventIndex(slot: 2, to: 60)  // the SQ register is written on every batch below
        for tag in UInt64(1)...3 {
            #expect(qp.submit(.io(.read, nsid: setup.rig.nsid, lba: 0, blocks: 8), dataIOVA: sink.iova, dataLength: 4096, tag: tag) == .submitted)
            qp.ringDoorbell()
            control.kick(queueID: 1)
            #expect(qp.poll { _ in } == 1)
        }
        // Heads 0 -> 1 (passes EventIdx 0: written), 1 -> 2 and 2 -> 3 (not).
        #expect(setup.device.writes(at: register) == before + 1 && control.shadow(slot: 3) == 3)
        control.setEventIndex(slot: 3, to: 3)
        #expect(qp.submit(.io(.read, nsid: setup.rig.nsid, lba: 0, blocks: 8), dataIOVA: sink.iova, dataLength: 4096, tag: 4) == .submitted)
        qp.ringDoorbell()
        control.kick(queueID: 1)
        #expect(qp.poll { _ in } == 1)  // 3 -> 4 passes 3
        #expect(setup.device.writes(at: register) == before + 2 && control.shadow(slot: 3) == 4)
    }

    /// `mmioDoorbellWrites` is the number of register writes the queue made, SQ and CQ together.
    @Test func theCounterCountsRegisterWritesOnly() throws {
        let setup = try shadowRig()
        setup.shadowController.followsDoorbells = false
        let qp = setup.rig.queue.queuePair
        let doorbells = { setup.device.writes(at: setup.device.submissionDoorbell(1)) + setup.device.writes(at: setup.device.completionDoorbell(1)) }
        let (before, counted) = (doorbells(), qp.mmioDoorbellWrites)
        let sink = try setup.rig.controller.mapper.allocate(length: 4096)
        for tag in UInt64(1)...5 {
            #expect(qp.submit(.io(.read, nsid: setup.rig.nsid, lba: 0, blocks: 8), dataIOVA: sink.iova, dataLength: 4096, tag: tag) == .submitted)
            qp.ringDoorbell()
            setup.shadowController.kick(queueID: 1)
            #expect(qp.poll { _ in } == 1)
        }
        // EventIdx stays 0: only the first SQ and the first CQ doorbell reached the registers.
        #expect(doorbells() - before == 2)
        #expect(qp.mmioDoorbellWrites - counted == 2)
    }

    /// After a reset the controller has forgotten the buffers: recovery sends Doorbell Buffer
    /// Config again (the same buffers) before it re-creates the I/O queues, the queue starts its
    /// shadow slots over from 0, and I/O goes on through them.
    @Test func aResetConfiguresTheBuffersAgain() throws {
        let setup = try shadowRig(mock: { $0.ioQueueCount = 2 }, options: { $0.ioQueueCount = 2 })
        let rig = setup.rig
        let control = setup.shadowController
        let sink = try rig.controller.mapper.allocate(length: 4096)
        #expect(rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink).succeeded)
        #expect(control.shadow(slot: 2) == 1)

        rig.mock.inject(.neverComplete(.io(.write, count: 1)))
        rig.mock.inject(.failCommands(.admin(.abort, count: 1), status: CompletionStatus(.abortCommandLimitExceeded)))
        let source = try rig.patterned(bytes: 4096, seed: 1)
        _ = rig.controller.ioQueues[1].write(nsid: rig.nsid, lba: 0, blocks: 8, from: source)
        #expect(rig.controller.resetCount == 1)
        let configurations = control.configurations
        #expect(configurations.count == 2 && configurations[0] == configurations[1])
        let opcodes = control.adminOpcodes
        let resend = try #require(opcodes.lastIndex(of: AdminOpcode.doorbellBufferConfig.rawValue))
        let recreate = try #require(opcodes.lastIndex(of: AdminOpcode.createIOCompletionQueue.rawValue))
        #expect(resend < recreate)

        #expect(rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink).succeeded)
        #expect(rig.queue.queuePair.usesShadowDoorbells && rig.controller.usesShadowDoorbells)
        #expect(control.shadow(slot: 2) == 1)  // the re-created queue's tail, from 0 again
        #expect(rig.controller.ioQueues[1].write(nsid: rig.nsid, lba: 8, blocks: 8, from: source).succeeded)
    }

    /// A controller that offers Doorbell Buffer Config but fails it: a warning, once, and plain
    /// doorbells - one register write per batch and per poll pass.
    @Test func aFailedConfigurationFallsBackToRegisterDoorbells() throws {
        let log = MessageLog()
        var configuration = MockConfiguration()
        configuration.ioQueueCount = 1
        let shadow = ShadowDoorbellController(mock: MockController(configuration: configuration))
        let device = InterposedDevice(shadow.mock)
        device.configure { shadow.install(&$0, accept: false) }
        let rig = try Rig(device: device, options: { options in
            options.logger = Logger(label: "shadow") { _ in CollectingLogHandler(log: log) }
        })
        #expect(shadow.adminOpcodes.filter { $0 == AdminOpcode.doorbellBufferConfig.rawValue }.count == 1)
        #expect(!rig.controller.usesShadowDoorbells && !rig.queue.queuePair.usesShadowDoorbells)
        #expect(log.messages.filter { $0.contains("shadow doorbells") }.count == 1)
        let before = device.writes(at: device.submissionDoorbell(1))
        let sink = try rig.controller.mapper.allocate(length: 4096)
        let counted = rig.queue.mmioDoorbellWrites
        for _ in 0..<3 { #expect(rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink).succeeded) }
        #expect(device.writes(at: device.submissionDoorbell(1)) == before + 3)
        #expect(rig.queue.mmioDoorbellWrites - counted == 6)
    }

    /// `ControllerOptions.shadowDoorbells = false`: no Doorbell Buffer Config even when offered.
    @Test func theOptionTurnsThemOff() throws {
        let setup = try shadowRig(options: { $0.shadowDoorbells = false })
        #expect(!setup.shadowController.adminOpcodes.contains(AdminOpcode.doorbellBufferConfig.rawValue))
        #expect(!setup.rig.controller.usesShadowDoorbells && !setup.rig.queue.queuePair.usesShadowDoorbells)
        let sink = try setup.rig.controller.mapper.allocate(length: 4096)
        #expect(setup.rig.queue.read(nsid: setup.rig.nsid, lba: 0, blocks: 8, into: sink).succeeded)
    }
}

extension Rig {
    /// A rig on an `InterposedDevice` the caller has set up (hooks installed before bring-up).
    init(device: InterposedDevice, options configureOptions: (inout ControllerOptions) -> Void = { _ in }) throws {
        mock = device.mock
        self.device = device
        controller = try NVMeController(device: device, options: testOptions(configureOptions))
        hba = SCSIHostAdapter(controller: controller)
    }
}

/// Every message logged, for tests that check what was said and how often.
final class MessageLog: Sendable {
    private let store = Mutex<[String]>([])
    var messages: [String] { store.withLock { $0 } }
    func append(_ message: String) { store.withLock { $0.append(message) } }
}

/// Keeps every message in a `MessageLog`.
struct CollectingLogHandler: LogHandler {
    let log: MessageLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        log.append("\(event.message)")
    }
}
