import CVFIO
import Testing
@testable import PCIDevice

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// DMA buffers outlive the device they were made for (the engine's deinit order is not theirs to
/// choose), so their unmap must still reach a live IOMMU. Run against `FakeVFIOKernel`, which
/// drops the container's IOMMU when its last group closes, as Linux 6.1 does.
@Suite struct VFIOTeardownTests {
    private static let page = 4096

    /// Opens a container and group 7 on scratch files, against `kernel`.
    private func open(_ scratch: ScratchDirectory, _ kernel: FakeVFIOKernel) throws -> VFIOGroup {
        let containerPath = try scratch.file("vfio")
        _ = try scratch.file("7")
        let container = try VFIOContainer(path: containerPath, kernel: kernel)
        return try VFIOGroup(number: 7, container: container, vfioDirectory: scratch.path)
    }

    /// The kernel rule the fix is for: mapping through the bare container (what `VFIODevice.iommu`
    /// handed out before) leaves the unmap to fail once the group has closed.
    @Test func theContainerAloneLosesItsIOMMUWhenItsLastGroupCloses() throws {
        try ScratchDirectory.use("vfio-teardown") { scratch in
            let kernel = FakeVFIOKernel()
            var group: VFIOGroup? = try open(scratch, kernel)
            let container = group!.container
            let memory = UnsafeMutableRawPointer.allocate(byteCount: Self.page, alignment: Self.page)
            defer { memory.deallocate() }
            try container.map(hostAddress: memory, iova: 0x10_0000, length: Self.page, access: .readWrite)
            group = nil
            let error = #expect(throws: PCIDeviceError.self) { try container.unmap(iova: 0x10_0000, length: Self.page) }
            #expect(error == .vfioCallFailed(call: "VFIO_IOMMU_UNMAP_DMA(iova 0x100000, 4096 bytes)", errno: EINVAL))
        }
    }

    /// Mapping through the group (what the device's IOMMU handle does) keeps the group attached
    /// after everyone else let go, its unmap succeeds, and only then do the group and the container
    /// close, in that order. (A device being removed detaches its group when the device fd closes,
    /// so the handle holds the device too: `VFIORemovalTeardownTests`.)
    @Test func theGroupAsIOMMUHandleStaysAttachedUntilTheLastUnmap() throws {
        try ScratchDirectory.use("vfio-teardown") { scratch in
            let kernel = FakeVFIOKernel()
            var group: VFIOGroup? = try open(scratch, kernel)
            let groupFD = group!.descriptor.rawValue
            let containerFD = group!.container.descriptor.rawValue
            var handle: (any IOMMU)? = group
            #expect(handle!.iovaRanges == IOMMUInfo.fallbackRanges)
            let memory = UnsafeMutableRawPointer.allocate(byteCount: Self.page, alignment: Self.page)
            defer { memory.deallocate() }
            try handle!.map(hostAddress: memory, iova: 0x10_0000, length: Self.page, access: .readWrite)
            group = nil
            #expect(kernel.isAttached(group: groupFD))
            try handle!.unmap(iova: 0x10_0000, length: Self.page)
            #expect(kernel.closedDescriptors.isEmpty)
            handle = nil
            #expect(kernel.closedDescriptors == [groupFD, containerFD])
            #expect(!kernel.isAttached(group: groupFD))
        }
    }
}
