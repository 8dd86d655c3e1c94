import DMAMapper
import Logging
import NVMe
import PCIDevice
import Synchronization

/// The controller's state and behaviour: bring-up results, the admin channel, the I/O queue
/// pairs, recovery and stop. The public `NVMeController` and every `IOQueue` hold it strongly,
/// so it lives as long as anything can still issue work, and the facade's deinit can stop it
/// with every queue still reachable (flush on teardown).
final class ControllerCore: @unchecked Sendable {
    let device: any DeviceInterface
    let mapper: DMAMapper
    let capabilities: ControllerCapabilities
    let version: ControllerVersion
    let identify: IdentifyController
    let namespaces: [Namespace]
    let pageSize: Int
    let maximumCommandBytes: Int
    let iovaBits: Int
    let constraints: HBAConstraints
    let usesSGL: Bool
    /// The I/O queue pairs, in queue-id order (queue 1 first).
    let queuePairs: [QueuePair]
    let options: ControllerOptions

    let logger: Logger
    let admin: AdminChannel
    /// Admin commands may come from several threads (stop, recovery, MODE SELECT): one at a time.
    let adminLock = SanitizedMutex(())
    /// Read on every request, so atomics rather than a lock: whether stop() has run, and how
    /// many recovery resets have happened (a request that sees the count change knows its
    /// commands were dropped).
    let stoppedFlag = Atomic<Bool>(false)
    let resets = Atomic<Int>(0)
    let writeCache: SanitizedMutex<Bool>

    init(device: any DeviceInterface, options: ControllerOptions) throws {
        let parts = try BringUp(device: device, options: options)
        self.device = device
        self.options = options
        logger = options.logger
        mapper = parts.mapper
        capabilities = parts.cap
        version = parts.version
        identify = parts.identify
        namespaces = parts.namespaces
        pageSize = parts.pageSize
        maximumCommandBytes = parts.maximumCommandBytes
        iovaBits = parts.iovaBits
        constraints = parts.constraints
        usesSGL = parts.usesSGL
        admin = parts.admin
        queuePairs = parts.queuePairs
        writeCache = SanitizedMutex(parts.writeCacheEnabled)
        logger.info("controller up", metadata: [
            "device": "\(device.name)", "model": "\(identify.modelNumber)", "version": "\(version)",
            "namespaces": "\(namespaces.count)", "ioQueues": "\(queuePairs.count)",
            "pointers": "\(usesSGL ? "SGL" : "PRP")", "maxCommandBytes": "\(maximumCommandBytes)",
        ])
    }

    /// Whether a volatile write cache is present and enabled.
    var volatileWriteCacheEnabled: Bool { writeCache.withLock { $0 } }
    /// Whether `stop()` has run.
    var isStopped: Bool { stoppedFlag.load(ordering: .acquiring) }
    /// Controller resets performed by recovery.
    var resetCount: Int { resets.load(ordering: .acquiring) }

    /// The namespace with identifier `nsid`.
    func namespace(_ nsid: UInt32) -> Namespace? { namespaces.first { $0.id == nsid } }

    /// Runs an admin command (serialised with every other admin command).
    @discardableResult
    func adminCommand(_ command: SubmissionQueueEntry, name: String) throws(ControllerError) -> Completion {
        guard !isStopped else { throw .stopped }
        return try adminLock.withLock { _ throws(ControllerError) in try admin.run(command, name: name) }
    }

    /// Enables or disables the volatile write cache (Set Features 06h). Enabling is refused when
    /// none is present.
    func setVolatileWriteCache(enabled: Bool) throws(ControllerError) {
        guard identify.volatileWriteCachePresent else {
            if !enabled { return }
            throw .unsupported("no volatile write cache is present (Identify Controller VWC bit 0 is 0)")
        }
        try adminCommand(.setFeatures(.volatileWriteCache, value: enabled ? 1 : 0), name: "Set Features (Volatile Write Cache)")
        writeCache.withLock { $0 = enabled }
    }

    /// Submits one command on `queue`, rings, and polls until it completes or its deadline
    /// passes (then the controller is reset). `whileStopping` lets stop() flush after it has
    /// closed the controller to new work.
    func runSingle(_ command: SubmissionQueueEntry, on queue: QueuePair, dataIOVA: UInt64 = 0, dataLength: Int = 0,
                   name: String, lba: UInt64 = 0, whileStopping: Bool = false) -> BlockOutcome {
        var outcome = BlockOutcome(requestedBytes: 0, bytesTransferred: 0, commands: 1)
        guard whileStopping || !isStopped else { outcome.error = .stopped; return outcome }
        while !queue.hasFreeSlot { queue.poll { _ in } }
        let tag = UInt64.max
        queue.submit(command, dataIOVA: dataIOVA, dataLength: dataLength, tag: tag)
        queue.ringDoorbell()
        var done = false
        var spins = 0
        let deadline = MonotonicClock.nanoseconds() + UInt64(options.commandTimeoutMilliseconds) * 1_000_000
        while !done {
            queue.poll { completion in
                guard completion.tag == tag else { return }
                done = true
                if !completion.status.isSuccess {
                    outcome.error = .ioCommandFailed(command: name, lba: lba, blocks: 0, status: completion.status)
                    outcome.status = completion.status
                }
            }
            spins += 1
            if !done, spins % 256 == 0 {
                do { try RegisterWaits.checkAlive(device: device, during: name) } catch {
                    outcome.error = error
                    return outcome
                }
                if MonotonicClock.nanoseconds() > deadline {
                    recover(reason: "\(name) timed out")
                    outcome.error = .commandTimedOut(command: name, queueID: queue.id, commandID: 0,
                                                     milliseconds: options.commandTimeoutMilliseconds,
                                                     recovery: "the controller was reset and its queues re-created")
                    return outcome
                }
                RegisterWaits.pause()
            }
        }
        return outcome
    }
}
