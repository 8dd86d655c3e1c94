import HexFormat

/// The seam between the driver and a controller: what `SCSIController` needs from any NVMe
/// device, whether a real PCI function opened through VFIO (`VFIODevice`) or the software
/// controller in `MockNVMe`. Register access is BAR0-relative and little-endian, as NVMe defines it.
///
/// Implementations are reference types shared between the owner and the queue pairs; the
/// register methods are called on the I/O hot path (doorbells), so they must not allocate or lock.
/// Register offsets come partly from the device (CAP.DSTRD spaces the doorbells), which is
/// untrusted: an offset outside `registerSpaceSize` must never reach memory - `VFIODevice` reads
/// all ones there (what a vanished device returns) and drops writes.
public protocol DeviceInterface: AnyObject, Sendable {
    /// A name for messages: the PCI address (`0000:01:00.0`) or the mock's name.
    var name: String { get }
    /// The NUMA node the device sits on, when the platform reports one; DMA memory is placed there.
    var numaNode: Int? { get }
    /// Size of BAR0 in bytes. A driver checks the doorbell offsets CAP.DSTRD gives against it
    /// at bring-up; accesses beyond it read all ones and write nothing.
    var registerSpaceSize: Int { get }

    /// Reads a 32-bit register at `offset` bytes into BAR0.
    func readRegister32(at offset: Int) -> UInt32
    /// Reads a 64-bit register at `offset` bytes into BAR0.
    func readRegister64(at offset: Int) -> UInt64
    /// Writes a 32-bit register at `offset` bytes into BAR0.
    func writeRegister32(_ value: UInt32, at offset: Int)
    /// Writes a 64-bit register at `offset` bytes into BAR0.
    func writeRegister64(_ value: UInt64, at offset: Int)
    /// Where the 32-bit register at `offset` lives in this process's mapping of BAR0, so that a
    /// queue pair can write its doorbell with one volatile store and no call through this
    /// protocol; nil when the offset lies outside BAR0 or is misaligned, and for devices whose
    /// registers are not memory (the mock), which keep the `writeRegister32` path.
    func registerAddress32(at offset: Int) -> UnsafeMutableRawPointer?

    /// The IOMMU through which this device reaches host memory.
    var iommu: any IOMMU { get }

    /// Resets the function (PCI function-level reset where the platform supports it).
    func reset() throws

    /// MSI-X vectors through which the device can signal this process: 0 when it cannot (a driver
    /// then polls its completion queues). Vector v is what NVMe's Create I/O Completion Queue
    /// calls interrupt vector v (IV); vector 0 also serves the admin queue.
    var interruptVectorCount: Int { get }
    /// Makes `eventfds[v]` the trigger of vector v, for v below `eventfds.count` (at most
    /// `interruptVectorCount`; -1 leaves a vector without one), replacing any earlier triggers:
    /// raising vector v then adds 1 to the count of eventfd `eventfds[v]`. An empty array stops
    /// every vector. The device keeps its own reference to each eventfd.
    func setInterruptTriggers(_ eventfds: [Int32]) throws(InterruptTriggerError)
}

extension DeviceInterface {
    /// No mapped registers: every access goes through the protocol's methods.
    public func registerAddress32(at offset: Int) -> UnsafeMutableRawPointer? { nil }
    /// No interrupts: the driver polls.
    public var interruptVectorCount: Int { 0 }
    /// Refuses any trigger: the device raises no interrupts.
    public func setInterruptTriggers(_ eventfds: [Int32]) throws(InterruptTriggerError) {
        guard eventfds.isEmpty else { throw InterruptTriggerError(description: "\(name) raises no interrupts") }
    }
}

/// Why interrupt triggers could not be set (`DeviceInterface.setInterruptTriggers`).
public struct InterruptTriggerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What failed, with the device and the system's error.
    public var description: String
    /// Says what failed.
    public init(description: String) { self.description = description }
}

/// What a device may do to a mapped range of host memory.
public struct DMAAccess: OptionSet, Sendable, Hashable {
    /// Bit 0: the device reads; bit 1: the device writes.
    public let rawValue: UInt8
    /// Wraps a set of access bits.
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// The device may read the memory (host-to-device transfers, queue entries).
    public static let deviceReads = DMAAccess(rawValue: 1 << 0)
    /// The device may write the memory (device-to-host transfers, completions).
    public static let deviceWrites = DMAAccess(rawValue: 1 << 1)
    /// Both directions.
    public static let readWrite: DMAAccess = [.deviceReads, .deviceWrites]
}

/// An inclusive range of I/O virtual addresses the IOMMU accepts, as VFIO reports it.
public struct IOVARange: Sendable, Hashable, CustomStringConvertible {
    /// First usable IOVA.
    public var first: UInt64
    /// Last usable IOVA (inclusive, so the whole 64-bit space is expressible).
    public var last: UInt64
    /// The range [first, last].
    /// - Precondition: `first <= last` (callers build ranges from checked kernel data or constants).
    public init(first: UInt64, last: UInt64) {
        precondition(first <= last, "IOVARange first must not exceed last")
        self.first = first
        self.last = last
    }
    /// `0xfirst...0xlast`, hexadecimal.
    public var description: String {
        hex(first) + "..." + hex(last)
    }
}

/// Translates I/O virtual addresses the device uses into host memory: VFIO type1 for real
/// hardware (`VFIOContainer`), or the software IOMMU the mock walks (`SoftwareIOMMU`).
public protocol IOMMU: AnyObject, Sendable {
    /// The IOVA windows this IOMMU accepts; an allocator must stay inside them.
    var iovaRanges: [IOVARange] { get }
    /// Maps `length` bytes of host memory at `hostAddress` to `iova` with the given access.
    /// `hostAddress`, `iova` and `length` are page-aligned.
    func map(hostAddress: UnsafeMutableRawPointer, iova: UInt64, length: Int, access: DMAAccess) throws
    /// Removes a mapping made by `map` with the same `iova` and `length`.
    func unmap(iova: UInt64, length: Int) throws
}
