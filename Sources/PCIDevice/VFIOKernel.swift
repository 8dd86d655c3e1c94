import CVFIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The VFIO container and group calls, as one seam, so tests can stand in a fake of the kernel's
/// rules (which group keeps which container's IOMMU alive) where no machine has /dev/vfio.
///
/// Each call returns what the ioctl returns (-1 with `errno` set on failure). `close` is here too
/// because closing a group fd is itself a VFIO event: it detaches the group from its container.
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
    func close(_ descriptor: Int32) { closeDescriptor(descriptor) }
}

private func closeDescriptor(_ descriptor: Int32) { _ = close(descriptor) }
