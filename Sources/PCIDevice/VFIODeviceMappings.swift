/// The IOMMU handle a `VFIODevice` hands out for DMA (`VFIODevice.iommu`): maps and unmaps through
/// the device's group and container, and holds the device itself, so that the device fd closes
/// only after the last buffer mapped through the handle has been unmapped.
///
/// Why the device and not only the group: when the function is removed or unbound, vfio-pci waits
/// for the device fd to close, then unregisters the device, and for the group's last device it
/// detaches the group from its container whatever the group fd (Linux's `vfio_device_remove_group`
/// since 6.1's strict iommu_group lifetime); the type1 IOMMU goes with it, and every later
/// VFIO_IOMMU_UNMAP_DMA fails with EINVAL. Whoever drops the device first (Swift releases an
/// object's properties in an order nobody chose, and a job thread may free a buffer late), the
/// buffers' unmaps now all come before the close, so no teardown order can leak one.
final class VFIODeviceMappings: IOMMU {
    /// The device whose fd this handle keeps open (and through it the group and the container).
    let device: VFIODevice

    init(_ device: VFIODevice) { self.device = device }

    /// The container's IOVA windows.
    var iovaRanges: [IOVARange] { device.group.iovaRanges }

    /// Maps through the container (VFIO_IOMMU_MAP_DMA).
    func map(hostAddress: UnsafeMutableRawPointer, iova: UInt64, length: Int, access: DMAAccess) throws {
        try device.group.map(hostAddress: hostAddress, iova: iova, length: length, access: access)
    }

    /// Unmaps through the container (VFIO_IOMMU_UNMAP_DMA) while the device is still open.
    func unmap(iova: UInt64, length: Int) throws {
        try device.group.unmap(iova: iova, length: length)
    }
}
