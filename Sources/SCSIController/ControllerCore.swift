import DMAMapper
import Logging
import NVMe
import PCIDevice

/// The controller's state and behaviour: bring-up results, the admin channel, the I/O queue
/// pairs, recovery and stop. The public `NVMeController` and every `IOQueue` hold it strongly,
/// so it lives as long as anything can still issue work; when the last of them goes, its deinit
/// stops the controller (flush on teardown) - by then no thread can be inside a request.
/// What bring-up settled on is `facts`, whose members read as the core's own (`controller.identify`;
/// the optimiser folds the key path into a plain load).
@dynamicMemberLookup
final class ControllerCore: @unchecked Sendable {
    /// ARC may release the device before the DMA buffers below (the admin scratch page, the shadow
    /// doorbells); that is safe because a VFIO device's IOMMU handle, held by every buffer through
    /// `mapper`, keeps the device open until the last buffer is unmapped (`VFIODeviceMappings`).
    let device: any DeviceInterface
    let mapper: DMAMapper
    let facts: ControllerFacts
    /// The I/O queue pairs, in queue-id order (queue 1 first).
    let queuePairs: [QueuePair]

    let logger: Logger
    /// Used only under `adminLock`: the lock holder owns the admin queue.
    let admin: AdminChannel
    /// Admin commands may come from several threads (queue owners' Aborts and re-creations,
    /// recovery, stop, MODE SELECT): one at a time.
    let adminLock = SanitizedMutex(AdminState())
    /// The controller's run state, published to the queue owners: reset generation, stopping
    /// (stop has begun), stopped. Read on every request: an atomic rather than a lock.
    let epoch: ControllerEpoch
    let writeCache: SanitizedMutex<Bool>
    /// The shadow doorbell buffers, when the controller accepted Doorbell Buffer Config at bring-up.
    let shadowDoorbells: ShadowDoorbells?

    /// What the admin lock protects besides the admin queue.
    struct AdminState: Sendable {
        /// I/O queues that exist in the controller now (stop deletes exactly these).
        var createdQueues: Set<UInt16> = []
        /// Whether the controller took Doorbell Buffer Config since its last reset: queues
        /// (re-)created now use the shadow doorbells.
        var shadowDoorbellsActive = false
    }

    init(device: any DeviceInterface, options: ControllerOptions) throws(ControllerError) {
        let parts = try BringUp(device: device, options: options)
        self.device = device
        logger = options.logger
        mapper = parts.mapper
        facts = ControllerFacts(
            capabilities: parts.cap, version: parts.version, identify: parts.identify, namespaces: parts.namespaces,
            unusableNamespaces: parts.unusableNamespaces, pageSize: parts.pageSize,
            maximumCommandBytes: parts.maximumCommandBytes, iovaBits: parts.iovaBits, constraints: parts.constraints,
            usesSGL: parts.usesSGL, shutdownMilliseconds: parts.shutdownMilliseconds, options: options)
        admin = parts.admin
        queuePairs = parts.queuePairs
        epoch = parts.epoch
        writeCache = SanitizedMutex(parts.writeCacheEnabled)
        shadowDoorbells = parts.shadowDoorbells
        adminLock.withLock { state in
            state.createdQueues = Set(parts.queuePairs.map(\.id))
            state.shadowDoorbellsActive = parts.shadowDoorbells != nil
        }
        epoch.attach(self)
        logger.info("controller up", metadata: [
            "device": "\(device.name)", "model": "\(facts.identify.modelNumber)", "version": "\(facts.version)",
            "namespaces": "\(facts.namespaces.count)", "ioQueues": "\(queuePairs.count)",
            "pointers": "\(facts.usesSGL ? "SGL" : "PRP")", "maxCommandBytes": "\(facts.maximumCommandBytes)",
            "shadowDoorbells": "\(shadowDoorbells != nil)",
        ])
    }

    /// The last reference to the controller and its queues is gone, so no request can be running:
    /// stop here, where the seed thread lost acknowledged writes by not doing it.
    deinit {
        do { try stop() } catch { logger.error("stop on teardown failed: \(error)") }
    }

    /// `facts`' members, read as the core's own.
    subscript<T>(dynamicMember keyPath: KeyPath<ControllerFacts, T>) -> T { facts[keyPath: keyPath] }

    /// Whether a volatile write cache is present and enabled.
    var volatileWriteCacheEnabled: Bool { writeCache.withLock { $0 } }
    /// Whether `stop()` has begun (or recovery gave up).
    var isStopped: Bool { epoch.isStopping }
    /// Controller resets performed by recovery.
    var resetCount: Int { epoch.generation }
    /// Whether queues (re-)created now use shadow doorbells.
    var usesShadowDoorbells: Bool { adminLock.withLock { $0.shadowDoorbellsActive } }

    /// The namespace with identifier `nsid`.
    func namespace(_ nsid: UInt32) -> Namespace? { facts.namespaces.first { $0.id == nsid } }

    /// Runs an admin command (serialised with every other admin command). A command that times
    /// out leaves the admin queue in doubt, so the controller is reset before the error is thrown.
    @discardableResult
    func adminCommand(_ command: SubmissionQueueEntry, name: String) throws(ControllerError) -> Completion {
        guard !isStopped else { throw .stopped }
        return try adminLock.withLock { (state: inout AdminState) throws(ControllerError) -> Completion in
            do throws(ControllerError) {
                return try admin.run(command, name: name)
            } catch {
                if case .commandTimedOut = error { resetLocked(reason: "admin command \(name) timed out", &state) }
                throw error
            }
        }
    }

    /// Enables or disables the volatile write cache (Set Features 06h). Enabling is refused when
    /// none is present.
    func setVolatileWriteCache(enabled: Bool) throws(ControllerError) {
        guard facts.identify.volatileWriteCachePresent else {
            if !enabled { return }
            throw .unsupported("no volatile write cache is present (Identify Controller VWC bit 0 is 0)")
        }
        try adminCommand(.setFeatures(.volatileWriteCache, value: enabled ? 1 : 0), name: "Set Features (Volatile Write Cache)")
        writeCache.withLock { $0 = enabled }
    }
}
