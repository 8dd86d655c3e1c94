import DMAMapper
import Logging

/// How to bring a controller up.
public struct ControllerOptions: Sendable {
    /// I/O queue pairs to ask for (1...65535); the controller may grant fewer, and only queues whose
    /// doorbells lie inside the register space are created.
    public var ioQueueCount: Int = 1
    /// Entries per I/O queue (2...65536); clamped to CAP.MQES + 1.
    public var ioQueueDepth: Int = 256
    /// Entries in the admin queues (2...4096).
    public var adminQueueDepth: Int = 32
    /// PRP, SGL, or automatic.
    public var dataPointerMode: DataPointerMode = .automatic
    /// Caller-supplied HBA constraints; nil derives them from the controller.
    public var constraints: HBAConstraintOverrides?
    /// Largest transfer per command when the controller reports no limit (MDTS = 0): 4 KiB to
    /// 8 MiB, the driver's per-command cap, which also bounds what a large MDTS allows.
    public var maximumCommandBytesWhenUnlimited: Int = 4 << 20
    /// Memory page size to configure (CC.MPS): a power of two from 4 KiB, else refused at start;
    /// clamped to CAP.MPSMIN...MPSMAX.
    public var pageSize: Int = 4096
    /// Address bits the device can generate; the IOVA allocator stays below 2^bits.
    public var addressableBits: Int = 64
    /// Deadline for one command before it is aborted (and, once aborted, before the controller is
    /// reset); also how long a request may go without any progress. A command's deadline runs from
    /// the first watchdog check that finds it outstanding (`QueuePair.stampUnstamped`): 256 idle
    /// passes of its request's loop after its submission, or later while the request progresses.
    public var commandTimeoutMilliseconds: Int = 30_000
    /// Bound on the shutdown handshake when the controller reports no RTD3 entry latency.
    public var shutdownTimeoutMilliseconds: Int = 10_000
    /// Whether to use shadow doorbells (Doorbell Buffer Config) when the controller offers them
    /// (Identify Controller OACS bit 8, typical of emulated controllers): the I/O queues then write
    /// their doorbell registers only when the controller's EventIdx asks for it, saving most of the
    /// register writes, each a VM exit under emulation. A controller that refuses the command is
    /// used with plain doorbells (logged once).
    public var shadowDoorbells: Bool = true
    /// Whether each I/O completion queue raises an MSI-X vector of its own (Create I/O Completion
    /// Queue with IEN set, vector = queue identifier), signalling an eventfd, so that a queue's
    /// owner can sleep until a completion may be there (`QueuePair.waitForCompletion`) instead of
    /// spinning on the queue. It needs a vector per I/O queue besides vector 0 (the admin
    /// queue's); a device with fewer, or whose vectors cannot be set up, is used polled, with a
    /// warning that says why. Off by default: the polled path needs no interrupt at all.
    public var completionInterrupts: Bool = false
    /// Whether DMA memory must be locked in RAM (tests of sparse 1 GiB buffers turn it off).
    public var pinning: DMAPinning = .bestEffort
    /// Where the engine logs bring-up, recovery and shutdown (never per I/O).
    public var logger: Logger = Logger(label: "nvme.controller")

    /// The defaults above: one I/O queue pair of 256 entries, data pointers chosen from
    /// Identify Controller SGLS, HBA constraints derived from the controller.
    public init() {}
}
