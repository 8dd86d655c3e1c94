import PCIDevice

/// Host memory a device may reach: exactly one IOVA segment, whatever its size.
///
/// Made by `DMAMapper.allocate`. On deinit the IOVA range is unmapped from the IOMMU and given
/// back, and the memory is freed; the buffer keeps its mapper (and so the IOMMU) alive until then.
///
/// `@unchecked Sendable` because every stored property is immutable after init and the only
/// non-Sendable one, `address`, points at memory that is shared with the device by design:
/// ordering accesses to its contents (fences, completions) is the caller's protocol, exactly as
/// it is between the CPU and the device.
public final class DMABuffer: @unchecked Sendable {
    /// Start of the buffer in host memory; page-aligned.
    public let address: UnsafeMutableRawPointer
    /// Start of the buffer as the device sees it; at least page-aligned (2 MiB-aligned from 2 MiB up).
    public let iova: UInt64
    /// The length that was asked for (the mapping itself is rounded up to whole pages).
    public let length: Int
    /// What the device may do to the buffer.
    public let access: DMAAccess
    /// Whether 2 MiB hugepages back the buffer.
    public let isHugePageBacked: Bool
    /// Whether the memory is locked into RAM.
    public let isPinned: Bool

    let memory: HostMemory
    let mappedLength: Int
    let mapper: DMAMapper

    init(memory: HostMemory, iova: UInt64, length: Int, mappedLength: Int, access: DMAAccess, mapper: DMAMapper) {
        self.address = memory.base
        self.iova = iova
        self.length = length
        self.access = access
        self.isHugePageBacked = memory.hugePages
        self.isPinned = memory.pinned
        self.memory = memory
        self.mappedLength = mappedLength
        self.mapper = mapper
    }

    /// The buffer's bytes on the host side.
    public var bytes: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: address, count: length)
    }

    deinit {
        mapper.release(memory: memory, iova: iova, mappedLength: mappedLength)
    }
}
