import CVFIO
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A VFIO group (`/dev/vfio/N`), attached to a container. It keeps the container alive, and the
/// devices opened from it keep the group alive, so dropping the last device releases everything
/// in the right order (device fd, then group fd, then container fd).
///
/// The group also maps for the IOMMU handle a device hands out for DMA (`VFIODevice.iommu`, which
/// holds the device and so this group): closing a container's last group detaches it, and on
/// Linux 6.1 that drops the container's type1 IOMMU, so every later VFIO_IOMMU_UNMAP_DMA fails
/// with EINVAL and the buffer leaks. Mapping through the group means a holder of the group keeps
/// it attached until its buffers are unmapped (but see `VFIODeviceMappings`: a device being
/// removed detaches its group as soon as the device fd closes).
public final class VFIOGroup: IOMMU {
    /// The IOMMU group number (the N of /dev/vfio/N and /sys/kernel/iommu_groups/N).
    public let number: Int
    /// The container the group is attached to.
    public let container: VFIOContainer
    /// The group's file descriptor; closed in deinit.
    let descriptor: FileDescriptor

    /// Opens group `number`, checks that it is viable and attaches it to `container`
    /// (selecting the container's IOMMU type when this is its first group).
    public init(number: Int, container: VFIOContainer, vfioDirectory: String = "/dev/vfio") throws(PCIDeviceError) {
        self.number = number
        self.container = container
        let path = vfioDirectory + "/\(number)"
        descriptor = try VFIOFile.open(path)

        var status = vfio_group_status()
        status.argsz = UInt32(MemoryLayout<vfio_group_status>.size)
        let kernel = container.kernel
        guard kernel.groupStatus(group: descriptor.rawValue, &status) == 0 else {
            throw .vfioCallFailed(call: "VFIO_GROUP_GET_STATUS on \(path)", errno: errno)
        }
        guard status.flags & cvfio_group_flags_viable() != 0 else { throw .vfioGroupNotViable(group: number) }
        guard kernel.setContainer(group: descriptor.rawValue, container: container.descriptor.rawValue) == 0 else {
            throw .vfioCallFailed(call: "VFIO_GROUP_SET_CONTAINER on \(path)", errno: errno)
        }
        try container.configureIfNeeded()
    }

    deinit { container.kernel.close(descriptor.rawValue) }

    /// VFIO_GROUP_GET_DEVICE_FD for `address`; the caller owns the returned descriptor.
    func deviceDescriptor(for address: PCIAddress) throws(PCIDeviceError) -> FileDescriptor {
        let fd = container.kernel.deviceFD(group: descriptor.rawValue, address: address.description)
        guard fd >= 0 else {
            throw .vfioCallFailed(call: "VFIO_GROUP_GET_DEVICE_FD(\(address)) on group \(number)", errno: errno)
        }
        return FileDescriptor(rawValue: fd)
    }

    // MARK: IOMMU, through the container this group keeps attached

    /// The container's IOVA windows.
    public var iovaRanges: [IOVARange] { container.iovaRanges }

    /// Maps through the container (VFIO_IOMMU_MAP_DMA).
    public func map(hostAddress: UnsafeMutableRawPointer, iova: UInt64, length: Int, access: DMAAccess) throws {
        try container.map(hostAddress: hostAddress, iova: iova, length: length, access: access)
    }

    /// Unmaps through the container (VFIO_IOMMU_UNMAP_DMA) while this group is still attached to it.
    public func unmap(iova: UInt64, length: Int) throws {
        try container.unmap(iova: iova, length: length)
    }
}
