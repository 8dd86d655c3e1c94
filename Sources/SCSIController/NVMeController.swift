import DMAMapper
import NVMe
import PCIDevice

/// The engine: an NVMe controller brought up per the NVMe Base spec, with an admin queue, polled
/// I/O queue pairs, validated HBA constraints, and an orderly stop (flush, delete queues,
/// shutdown handshake) that also runs when the last reference to it goes away. I/O goes through
/// the `IOQueue`s it creates, each owned by one thread.
///
/// What bring-up read and settled on (CAP, Identify, the namespaces, the HBA constraints, the
/// options...) is a `ControllerFacts`, whose members read as the controller's own:
/// `controller.namespaces`, `controller.constraints`, `controller.maximumCommandBytes`.
@dynamicMemberLookup
public final class NVMeController: Sendable {
    let core: ControllerCore
    /// The I/O queues created; hand each to one thread.
    public let ioQueues: [IOQueue]

    /// Brings the controller up: disable, program the admin queue, enable, Identify the controller
    /// and every active namespace, read the write cache state, negotiate and create the I/O queues.
    /// Every wait is bounded by CAP.TO and every failure names what it saw.
    public init(device: any DeviceInterface, options: ControllerOptions = ControllerOptions()) throws(ControllerError) {
        let core = try ControllerCore(device: device, options: options)
        self.core = core
        var queues: [IOQueue] = []
        for pair in core.queuePairs {
            do {
                queues.append(IOQueue(queuePair: pair, scratch: try core.mapper.allocate(length: 4096, access: .deviceReads), core: core))
            } catch {
                throw .dma(error, during: "allocating queue \(pair.id) scratch page")
            }
        }
        ioQueues = queues
    }

    /// Stops the controller so that no acknowledged write can be lost: Flush every namespace when
    /// a volatile write cache is present, delete the I/O queues, then the CC.SHN normal shutdown
    /// handshake, waiting for CSTS.SHST = complete within RTD3E when the controller reports it
    /// (else `ControllerOptions.shutdownTimeoutMilliseconds`). Runs once; later calls return at once.
    ///
    /// Other threads may still hold queues: from the first instruction every new request is refused
    /// with `.stopped`, the Flush waits (within the command timeout) for a request running on queue 1
    /// to end, and each queue's owner gets its outstanding commands back, dropped, at its next poll.
    ///
    /// Without a call, the same stop runs when the controller and all of its `IOQueue`s are gone
    /// (the queues keep the controller alive, so it never stops under a thread still using one).
    public func stop() throws(ControllerError) { try core.stop() }

    /// Each `ControllerFacts` member as the controller's own, e.g. `controller.namespaces`.
    public subscript<T>(dynamicMember keyPath: KeyPath<ControllerFacts, T>) -> T { core.facts[keyPath: keyPath] }

    /// The device underneath (VFIO or mock).
    public var device: any DeviceInterface { core.device }
    /// Allocates DMA buffers the device can reach; task buffers must come from here.
    public var mapper: DMAMapper { core.mapper }
    /// Whether a volatile write cache is present and enabled.
    public var volatileWriteCacheEnabled: Bool { core.volatileWriteCacheEnabled }
    /// Whether `stop()` has run.
    public var isStopped: Bool { core.isStopped }
    /// Controller resets performed by recovery.
    public var resetCount: Int { core.resetCount }
    /// Whether the I/O queues use shadow doorbells now (`ControllerOptions.shadowDoorbells`, and
    /// the controller accepted Doorbell Buffer Config at bring-up and after its last reset).
    public var usesShadowDoorbells: Bool { core.usesShadowDoorbells }

    /// The namespace with identifier `nsid`.
    public func namespace(_ nsid: UInt32) -> Namespace? { core.facts.namespace(nsid) }

    /// Runs an admin command (serialised with every other admin command).
    @discardableResult
    public func adminCommand(_ command: SubmissionQueueEntry, name: String) throws(ControllerError) -> Completion {
        try core.adminCommand(command, name: name)
    }

    /// Enables or disables the volatile write cache (Set Features 06h); enabling is refused when
    /// none is present.
    public func setVolatileWriteCache(enabled: Bool) throws(ControllerError) {
        try core.setVolatileWriteCache(enabled: enabled)
    }
}
