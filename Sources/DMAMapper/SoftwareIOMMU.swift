import PCIDevice
import Synchronization

/// An IOMMU in software: the table a mock device walks to turn IOVAs into host memory.
///
/// It enforces what a hardware IOMMU enforces (a device reaches only mapped memory, only in the
/// directions granted) and records every refusal as a `DMAFault`, so a test can show a device
/// model never touched memory the driver did not hand it. Mappings are kept sorted by IOVA and
/// found by binary search behind a last-hit cache; `translate` allocates nothing on success.
public final class SoftwareIOMMU: IOMMU {
    /// The IOVA windows `map` accepts.
    public let iovaRanges: [IOVARange]
    private let state: SanitizedMutex<SoftwareIOMMUTable>
    private let mappingGeneration = Atomic<UInt64>(0)
    /// What `unmap` waits on before it returns, by the token `addUnmapBarrier` gave out.
    private let unmapBarriers = SanitizedMutex(UnmapBarriers())

    /// Changes with every successful `map` and `unmap`: a device model may keep a translation
    /// (as an IOTLB keeps an entry) while this is unchanged, instead of taking the lock again.
    public var generation: UInt64 { mappingGeneration.load(ordering: .acquiring) }

    /// An IOMMU accepting IOVAs in `iovaRanges`; by default the whole 64-bit space.
    /// Pass a set with holes (like x86's MSI window at 0xfee00000) to exercise an allocator.
    public init(iovaRanges: [IOVARange] = [IOVARange(first: 0, last: .max)]) {
        self.iovaRanges = iovaRanges.sorted { $0.first < $1.first }
        self.state = SanitizedMutex(SoftwareIOMMUTable())
    }

    /// Maps `length` bytes at `hostAddress` to `iova`. Refuses a zero length, a range outside
    /// `iovaRanges`, and any overlap with an existing mapping (hardware would silently alias).
    public func map(hostAddress: UnsafeMutableRawPointer, iova: UInt64, length: Int, access: DMAAccess) throws {
        guard length > 0, UInt64(length - 1) <= UInt64.max - iova else {
            throw SoftwareIOMMUError.invalidLength(iova: iova, length: length)
        }
        let last = iova + UInt64(length - 1)
        guard iovaRanges.contains(where: { $0.first <= iova && last <= $0.last }) else {
            throw SoftwareIOMMUError.outsideIOVARanges(iova: iova, length: length)
        }
        let entry = SoftwareIOMMUTable.Mapping(
            iova: iova, length: length, host: UInt(bitPattern: hostAddress), access: access)
        try state.withLock { table throws(SoftwareIOMMUError) in try table.insert(entry) }
        mappingGeneration.add(1, ordering: .releasing)
    }

    /// Removes the mapping made with exactly this `iova` and `length`; anything else is an error.
    ///
    /// Returns only once no device model can still be writing or reading through the mapping:
    /// after it is gone, every barrier (`addUnmapBarrier`) is waited on, as a hardware IOMMU's
    /// invalidation completes only when the device can no longer use the old entry. The caller
    /// may then give the memory back (munmap) without a transfer that translated earlier landing
    /// in it; a transfer that translates later faults.
    public func unmap(iova: UInt64, length: Int) throws {
        try state.withLock { table throws(SoftwareIOMMUError) in try table.remove(iova: iova, length: length) }
        mappingGeneration.add(1, ordering: .releasing)
        for barrier in unmapBarriers.withLock({ Array($0.byToken.values) }) { barrier() }
    }

    /// Makes `unmap` call `barrier` before it returns, for a device model whose transfers use a
    /// host address after `translate` handed it out (or keep one while `generation` holds):
    /// `barrier` returns once every transfer that began before the call has finished. It must
    /// not take anything `unmap`'s callers may hold. Returns the token `removeUnmapBarrier` takes.
    public func addUnmapBarrier(_ barrier: @escaping @Sendable () -> Void) -> Int {
        unmapBarriers.withLock { barriers in
            barriers.lastToken += 1
            barriers.byToken[barriers.lastToken] = barrier
            return barriers.lastToken
        }
    }

    /// Stops calling the barrier `addUnmapBarrier` returned `token` for (its device is gone).
    public func removeUnmapBarrier(_ token: Int) {
        unmapBarriers.withLock { _ = $0.byToken.removeValue(forKey: token) }
    }

    /// The host address behind `iova`, if [iova, iova + length) lies inside one mapping that
    /// grants `access`. Otherwise the fault is recorded (see `faults`) and thrown.
    ///
    /// Called by the device model for every transfer, so it takes one uncontended lock, does a
    /// cached lookup or a binary search, and allocates nothing unless it faults. A negative
    /// length (a device model's arithmetic gone wrong) is a fault too, not a trap.
    public func translate(iova: UInt64, length: Int, access: DMAAccess) throws(DMAFault) -> UnsafeMutableRawPointer {
        let outcome = state.withLock { table in table.translate(iova: iova, length: length, access: access) }
        switch outcome {
        case .host(let address):
            // A mapping's host base is never null and offsets stay inside it, so this never fails.
            return UnsafeMutableRawPointer(bitPattern: address)!
        case .fault(let fault):
            throw fault
        }
    }

    /// Every fault recorded since creation or the last `clearFaults()`, oldest first.
    public var faults: [DMAFault] {
        state.withLock { $0.faults }
    }

    /// Forgets the recorded faults (between test phases).
    public func clearFaults() {
        state.withLock { $0.faults.removeAll() }
    }

    /// The number of live mappings (for tests that check buffers unmap themselves).
    public var mappingCount: Int {
        state.withLock { $0.mappings.count }
    }
}

/// The device models' barriers an unmap waits on.
private struct UnmapBarriers {
    var byToken: [Int: @Sendable () -> Void] = [:]
    var lastToken = 0
}
