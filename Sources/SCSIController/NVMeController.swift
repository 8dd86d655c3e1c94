import DMAMapper
import Logging
import NVMe
import PCIDevice
import Synchronization

/// The engine: an NVMe controller brought up per the NVMe Base spec, with an admin queue, polled
/// I/O queue pairs, validated HBA constraints, and an orderly stop (flush, delete queues,
/// shutdown handshake) that also runs on deinit. I/O goes through the `IOQueue`s it creates,
/// each owned by one thread.
public final class NVMeController: @unchecked Sendable {
    /// The device underneath (VFIO or mock).
    public let device: any DeviceInterface
    /// Allocates DMA buffers the device can reach; task buffers must come from here.
    public let mapper: DMAMapper
    /// CAP as read at bring-up.
    public let capabilities: ControllerCapabilities
    /// VS as read at bring-up.
    public let version: ControllerVersion
    /// Identify Controller data.
    public let identify: IdentifyController
    /// Active namespaces, in NSID order.
    public let namespaces: [Namespace]
    /// The memory page size configured in CC.MPS.
    public let pageSize: Int
    /// Largest transfer of one NVMe command, in bytes.
    public let maximumCommandBytes: Int
    /// Address width of the IOVAs the mapper hands out.
    public let iovaBits: Int
    /// The validated HBA constraints every request is cut by.
    public let constraints: HBAConstraints
    /// Whether commands carry SGLs rather than PRPs.
    public let usesSGL: Bool
    /// The I/O queues created; hand each to one thread.
    public let ioQueues: [IOQueue]
    /// Options the controller was brought up with.
    public let options: ControllerOptions

    let logger: Logger
    let admin: AdminChannel
    /// Admin commands may come from several threads (stop, recovery, MODE SELECT): one at a time.
    let adminLock = SanitizedMutex(())
    let lifecycle = SanitizedMutex(Lifecycle())

    struct Lifecycle: Sendable {
        var stopped = false
        var writeCacheEnabled = false
        var resets = 0
    }

    /// Brings the controller up: disable, program the admin queue, enable, Identify the controller
    /// and every active namespace, read the write cache state, negotiate and create the I/O queues.
    /// Every wait is bounded by CAP.TO and every failure names what it saw.
    public init(device: any DeviceInterface, options: ControllerOptions = ControllerOptions()) throws {
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
        ioQueues = try parts.queuePairs.map { pair in
            do { return IOQueue(queuePair: pair, scratch: try parts.mapper.allocate(length: 4096, access: .deviceReads)) }
            catch { throw ControllerError.dma("allocating queue \(pair.id) scratch page: \(error)") }
        }
        lifecycle.withLock { $0.writeCacheEnabled = parts.writeCacheEnabled }
        for queue in ioQueues { queue.controller = self }
        logger.info("controller up", metadata: [
            "device": "\(device.name)", "model": "\(identify.modelNumber)", "version": "\(version)",
            "namespaces": "\(namespaces.count)", "ioQueues": "\(ioQueues.count)",
            "pointers": "\(usesSGL ? "SGL" : "PRP")", "maxCommandBytes": "\(maximumCommandBytes)",
        ])
    }

    deinit {
        do { try stop() } catch { logger.error("stop on teardown failed: \(error)") }
    }

    /// Whether a volatile write cache is present and enabled.
    public var volatileWriteCacheEnabled: Bool { lifecycle.withLock { $0.writeCacheEnabled } }
    /// Whether `stop()` has run.
    public var isStopped: Bool { lifecycle.withLock { $0.stopped } }
    /// Controller resets performed by recovery.
    public var resetCount: Int { lifecycle.withLock { $0.resets } }

    /// The namespace with identifier `nsid`.
    public func namespace(_ nsid: UInt32) -> Namespace? { namespaces.first { $0.id == nsid } }

    /// Runs an admin command (serialised with every other admin command).
    @discardableResult
    public func adminCommand(_ command: SubmissionQueueEntry, name: String) throws(ControllerError) -> Completion {
        guard !isStopped else { throw .stopped }
        return try adminLock.withLock { _ throws(ControllerError) in try admin.run(command, name: name) }
    }

    /// Enables or disables the volatile write cache (Set Features 06h). Enabling is refused when
    /// none is present.
    public func setVolatileWriteCache(enabled: Bool) throws(ControllerError) {
        guard identify.volatileWriteCachePresent else {
            if !enabled { return }
            throw .unsupported("no volatile write cache is present (Identify Controller VWC bit 0 is 0)")
        }
        try adminCommand(.setFeatures(.volatileWriteCache, value: enabled ? 1 : 0), name: "Set Features (Volatile Write Cache)")
        lifecycle.withLock { $0.writeCacheEnabled = enabled }
    }
}
