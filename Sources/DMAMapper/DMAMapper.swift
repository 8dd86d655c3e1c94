import HexFormat
import Logging
import PCIDevice
import Synchronization

/// Allocates DMA memory and maps it for a device: host memory (hugepages, NUMA, pinning), an
/// IOVA from the allocator, and the IOMMU mapping, undone together when the buffer goes away.
///
/// Each buffer is one IOVA segment, so the queue code never walks a scatter list. Allocation is
/// not on the I/O path (buffers are made up front), so it may lock and allocate.
public final class DMAMapper: Sendable {
    /// Buffers at least this large are 2 MiB-aligned in IOVA and tried on 2 MiB hugepages.
    public static let largeBufferThreshold = HostMemory.hugePageSize

    /// The IOMMU buffers are mapped through.
    public let iommu: any IOMMU
    /// The NUMA node memory is placed on, if any.
    public let numaNode: Int?
    /// The device page size: lengths are rounded up to it and IOVAs aligned to it.
    public let pageSize: Int
    /// Whether memory is locked.
    public let pinning: DMAPinning
    /// The device's address width: every IOVA + length - 1 < 2^addressableBits.
    public let addressableBits: Int
    /// The IOVA windows actually used: the IOMMU's, clipped to `addressableBits` and whole pages.
    public let iovaRanges: [IOVARange]

    private let logger: Logger
    private let state: SanitizedMutex<State>
    private let hugePages: HugePageSource

    private struct State: Sendable {
        var allocator: IOVAAllocator
        // Each kind of worked-around problem is logged once per mapper, not once per buffer.
        var hugePageNoticeLogged = false
        var pinNoticeLogged = false
        var numaNoticeLogged = false
    }

    /// - Parameters:
    ///   - iommu: VFIO type1 in production, `SoftwareIOMMU` under the mock.
    ///   - numaNode: the device's node (`DeviceInterface.numaNode`); nil leaves placement to the kernel.
    ///   - addressableBits: the device's DMA address width (e.g. 32 for a 32-bit-only controller).
    ///   - pageSize: a power of two >= 4096 (the controller's memory page size).
    ///   - logger: where notices go (hugepage fallback, pinning failure); a default label otherwise.
    ///   - pinning: whether memory is locked; `.bestEffort` logs once and goes on when it cannot be.
    /// - Throws: `DMAMapperError.invalidPageSize`, or `.iova` when the IOMMU's ranges leave
    ///   nothing below 2^addressableBits.
    public convenience init(
        iommu: any IOMMU, numaNode: Int? = nil, addressableBits: Int = 64, pageSize: Int = 4096,
        logger: Logger? = nil, pinning: DMAPinning = .bestEffort
    ) throws(DMAMapperError) {
        try self.init(iommu: iommu, numaNode: numaNode, addressableBits: addressableBits, pageSize: pageSize,
                      logger: logger, pinning: pinning, hugePages: .kernel)
    }

    /// The public initialiser with the hugepage source chosen, so tests can stand in for a machine
    /// with or without a hugepage reserve.
    init(
        iommu: any IOMMU, numaNode: Int?, addressableBits: Int, pageSize: Int,
        logger: Logger?, pinning: DMAPinning, hugePages: HugePageSource
    ) throws(DMAMapperError) {
        guard pageSize >= 4096, pageSize & (pageSize - 1) == 0 else { throw .invalidPageSize(pageSize) }
        let allocator: IOVAAllocator
        do throws(IOVAAllocatorError) {
            allocator = try IOVAAllocator(ranges: iommu.iovaRanges, addressableBits: addressableBits, granule: pageSize)
        } catch {
            throw .iova(error)
        }
        self.iommu = iommu
        self.numaNode = numaNode
        self.pageSize = pageSize
        self.pinning = pinning
        self.addressableBits = addressableBits
        self.iovaRanges = allocator.ranges
        self.logger = logger ?? Logger(label: "DMAMapper")
        self.state = SanitizedMutex(State(allocator: allocator))
        self.hugePages = hugePages
    }

    /// A zero-filled buffer of `length` bytes, mapped for the device as one IOVA segment.
    ///
    /// The mapping covers whole pages; the IOVA is page-aligned, and 2 MiB-aligned for buffers of
    /// 2 MiB or more so the IOMMU can use large pages too.
    /// - Throws: `DMAMapperError`: `.invalidLength` or `.lengthTooLarge` for a length that is not
    ///   positive or too large to round up to whole pages, `.memoryUnavailable` or `.pinningFailed`
    ///   when memory cannot be had, `.iova` when no IOVA range is left, `.mappingFailed` when the
    ///   IOMMU refuses. Nothing is left allocated after a throw.
    public func allocate(length: Int, access: DMAAccess = .readWrite) throws(DMAMapperError) -> DMABuffer {
        guard length > 0 else { throw .invalidLength(length) }
        let mappedLength = try roundUpToPages(length, pageSize)
        let alignment = mappedLength >= Self.largeBufferThreshold ? max(Self.largeBufferThreshold, pageSize) : pageSize
        let iova: UInt64
        do throws(IOVAAllocatorError) {
            iova = try state.withLock { state throws(IOVAAllocatorError) in
                try state.allocator.allocate(length: mappedLength, alignment: alignment)
            }
        } catch {
            throw .iova(error)
        }
        var notes = HostMemory.Notes()
        let memory: HostMemory
        do throws(DMAMapperError) {
            memory = try HostMemory.allocate(length: mappedLength, numaNode: numaNode, pinning: pinning,
                                             hugePages: hugePages, notes: &notes)
        } catch {
            freeIOVA(iova, mappedLength)
            throw error
        }
        log(notes)
        do {
            try iommu.map(hostAddress: memory.base, iova: iova, length: mappedLength, access: access)
        } catch {
            memory.release()
            freeIOVA(iova, mappedLength)
            throw .mappingFailed("\(error)")
        }
        return DMABuffer(memory: memory, iova: iova, length: length, mappedLength: mappedLength, access: access, mapper: self)
    }

    /// Undoes `allocate`, in reverse order; called from `DMABuffer.deinit`, so failures are logged.
    func release(memory: HostMemory, iova: UInt64, mappedLength: Int) {
        do {
            try iommu.unmap(iova: iova, length: mappedLength)
        } catch {
            // The device may still reach the memory: leak it rather than hand it to someone else.
            logger.error("DMA unmap of IOVA \(hex(iova)) (\(mappedLength) bytes) failed, leaking the buffer: \(error)")
            return
        }
        memory.release()
        freeIOVA(iova, mappedLength)
    }

    private func freeIOVA(_ iova: UInt64, _ length: Int) {
        do {
            try state.withLock { state throws(IOVAAllocatorError) in try state.allocator.free(iova: iova, length: length) }
        } catch {
            logger.error("IOVA bookkeeping: \(error)")
        }
    }

    private func log(_ notes: HostMemory.Notes) {
        let (huge, pin, numa) = state.withLock { state in
            defer {
                state.hugePageNoticeLogged = state.hugePageNoticeLogged || notes.hugePageFallback != nil
                state.pinNoticeLogged = state.pinNoticeLogged || notes.notPinned != nil
                state.numaNoticeLogged = state.numaNoticeLogged || notes.numaIgnored != nil
            }
            return (
                state.hugePageNoticeLogged ? nil : notes.hugePageFallback,
                state.pinNoticeLogged ? nil : notes.notPinned,
                state.numaNoticeLogged ? nil : notes.numaIgnored
            )
        }
        if let huge { logger.notice("\(huge)") }
        if let pin { logger.warning("\(pin)") }
        if let numa { logger.notice("\(numa)") }
    }

    /// IOVA bytes not handed out (for tests and diagnostics).
    public var freeIOVABytes: UInt64 {
        state.withLock { $0.allocator.freeBytes }
    }
}
