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
public final class VFIOGroup: Sendable {
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
        guard cvfio_group_get_status(descriptor.rawValue, &status) == 0 else {
            throw .vfioCallFailed(call: "VFIO_GROUP_GET_STATUS on \(path)", errno: errno)
        }
        guard status.flags & cvfio_group_flags_viable() != 0 else { throw .vfioGroupNotViable(group: number) }
        guard cvfio_group_set_container(descriptor.rawValue, container.descriptor.rawValue) == 0 else {
            throw .vfioCallFailed(call: "VFIO_GROUP_SET_CONTAINER on \(path)", errno: errno)
        }
        try container.configureIfNeeded()
    }

    deinit { try? descriptor.close() }

    /// VFIO_GROUP_GET_DEVICE_FD for `address`; the caller owns the returned descriptor.
    func deviceDescriptor(for address: PCIAddress) throws(PCIDeviceError) -> FileDescriptor {
        let fd = address.description.withCString { cvfio_group_get_device_fd(descriptor.rawValue, $0) }
        guard fd >= 0 else {
            throw .vfioCallFailed(call: "VFIO_GROUP_GET_DEVICE_FD(\(address)) on group \(number)", errno: errno)
        }
        return FileDescriptor(rawValue: fd)
    }
}
