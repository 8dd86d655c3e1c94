import CVFIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The VFIO container, group and device calls, as one seam, so tests can stand in a fake of the
/// kernel's rules (which group keeps which container's IOMMU alive, what releasing a device being
/// removed does to its group) where no machine has /dev/vfio.
///
/// Each call returns what the ioctl returns (-1 with `errno` set on failure). `close` is here too
/// because closing a group or device fd is itself a VFIO event: the group detaches from its
/// container, and a device the kernel is removing is unregistered (which, for the group's last
/// device, detaches the group whatever its own fd).
protocol VFIOKernel: Sendable {
    func apiVersion(container: Int32) -> Int32
    func checkExtension(container: Int32, _ extensionID: UInt) -> Int32
    func setIOMMU(container: Int32, type: UInt) -> Int32
    func iommuInfo(container: Int32, _ info: UnsafeMutablePointer<vfio_iommu_type1_info>) -> Int32
    func mapDMA(container: Int32, _ request: inout vfio_iommu_type1_dma_map) -> Int32
    func unmapDMA(container: Int32, _ request: inout vfio_iommu_type1_dma_unmap) -> Int32
    func groupStatus(group: Int32, _ status: inout vfio_group_status) -> Int32
    func setContainer(group: Int32, container: Int32) -> Int32
    func deviceFD(group: Int32, address: String) -> Int32
    func deviceInfo(device: Int32, _ info: inout vfio_device_info) -> Int32
    func regionInfo(device: Int32, _ region: inout vfio_region_info) -> Int32
    func irqInfo(device: Int32, _ irq: inout vfio_irq_info) -> Int32
    func setIRQEventfd(device: Int32, index: UInt32, eventfd: Int32) -> Int32
    /// VFIO_DEVICE_SET_IRQS for vectors 0..<eventfds.count of `index` (-1: no trigger); an empty
    /// array disables the index.
    func setIRQEventfds(device: Int32, index: UInt32, eventfds: [Int32]) -> Int32
    func resetDevice(_ device: Int32) -> Int32
    func close(_ descriptor: Int32)
}

/// The real kernel: the ioctls of linux/vfio.h through the CVFIO shim.
struct LinuxVFIOKernel: VFIOKernel {
    func apiVersion(container: Int32) -> Int32 { cvfio_get_api_version(container) }
    func checkExtension(container: Int32, _ extensionID: UInt) -> Int32 { cvfio_check_extension(container, extensionID) }
    func setIOMMU(container: Int32, type: UInt) -> Int32 { cvfio_set_iommu(container, type) }
    func iommuInfo(container: Int32, _ info: UnsafeMutablePointer<vfio_iommu_type1_info>) -> Int32 {
        cvfio_iommu_get_info(container, info)
    }
    func mapDMA(container: Int32, _ request: inout vfio_iommu_type1_dma_map) -> Int32 { cvfio_iommu_map_dma(container, &request) }
    func unmapDMA(container: Int32, _ request: inout vfio_iommu_type1_dma_unmap) -> Int32 {
        cvfio_iommu_unmap_dma(container, &request)
    }
    func groupStatus(group: Int32, _ status: inout vfio_group_status) -> Int32 { cvfio_group_get_status(group, &status) }
    func setContainer(group: Int32, container: Int32) -> Int32 { cvfio_group_set_container(group, container) }
    func deviceFD(group: Int32, address: String) -> Int32 {
        address.withCString { cvfio_group_get_device_fd(group, $0) }
    }
    func deviceInfo(device: Int32, _ info: inout vfio_device_info) -> Int32 { cvfio_device_get_info(device, &info) }
    func regionInfo(device: Int32, _ region: inout vfio_region_info) -> Int32 { cvfio_device_get_region_info(device, &region) }
    func irqInfo(device: Int32, _ irq: inout vfio_irq_info) -> Int32 { cvfio_device_get_irq_info(device, &irq) }
    func setIRQEventfd(device: Int32, index: UInt32, eventfd: Int32) -> Int32 {
        cvfio_device_set_irq_eventfd(device, index, eventfd)
    }
    func setIRQEventfds(device: Int32, index: UInt32, eventfds: [Int32]) -> Int32 {
        eventfds.withUnsafeBufferPointer { cvfio_device_set_irq_eventfds(device, index, $0.baseAddress, UInt32($0.count)) }
    }
    func resetDevice(_ device: Int32) -> Int32 { cvfio_device_reset(device) }
    func close(_ descriptor: Int32) { closeDescriptor(descriptor) }
}

private func closeDescriptor(_ descriptor: Int32) { _ = close(descriptor) }
