import CVFIO
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@testable import PCIDevice

/// A fake of the kernel's VFIO rules that matter for teardown, as Linux 6.1 applies them:
/// a group attaches to a container with VFIO_GROUP_SET_CONTAINER; VFIO_SET_IOMMU needs an attached
/// group; closing the container's last group detaches it and releases the type1 IOMMU with every
/// mapping in it, after which MAP_DMA and UNMAP_DMA fail with EINVAL. Descriptors are real (scratch
/// files), so the fake also closes them.
final class FakeVFIOKernel: VFIOKernel {
    struct Container {
        var groups: Set<Int32> = []
        var iommuSet = false
        var mappings: [UInt64: UInt64] = [:]
    }

    struct State {
        var containers: [Int32: Container] = [:]
        var containerOfGroup: [Int32: Int32] = [:]
        /// Every descriptor closed, in order.
        var closed: [Int32] = []
    }

    let state = Mutex(State())

    private func fail(_ code: Int32) -> Int32 {
        errno = code
        return -1
    }

    func apiVersion(container: Int32) -> Int32 {
        state.withLock { $0.containers[container] = $0.containers[container] ?? Container() }
        return cvfio_api_version()
    }

    func checkExtension(container: Int32, _ extensionID: UInt) -> Int32 { extensionID == cvfio_type1v2_iommu() ? 1 : 0 }

    func setIOMMU(container: Int32, type: UInt) -> Int32 {
        let attached = state.withLock { state -> Bool in
            guard state.containers[container]?.groups.isEmpty == false else { return false }
            state.containers[container]?.iommuSet = true
            return true
        }
        return attached ? 0 : fail(EINVAL)
    }

    func iommuInfo(container: Int32, _ info: UnsafeMutablePointer<vfio_iommu_type1_info>) -> Int32 {
        guard state.withLock({ $0.containers[container]?.iommuSet == true }) else { return fail(EINVAL) }
        info.pointee.flags = 0
        info.pointee.iova_pgsizes = 4096
        return 0
    }

    func mapDMA(container: Int32, _ request: inout vfio_iommu_type1_dma_map) -> Int32 {
        let (iova, size) = (request.iova, request.size)
        let mapped = state.withLock { state -> Bool in
            guard state.containers[container]?.iommuSet == true else { return false }
            state.containers[container]?.mappings[iova] = size
            return true
        }
        return mapped ? 0 : fail(EINVAL)
    }

    func unmapDMA(container: Int32, _ request: inout vfio_iommu_type1_dma_unmap) -> Int32 {
        let (iova, size) = (request.iova, request.size)
        let unmapped = state.withLock { state -> Bool in
            guard state.containers[container]?.iommuSet == true,
                  state.containers[container]?.mappings[iova] == size else { return false }
            state.containers[container]?.mappings[iova] = nil
            return true
        }
        return unmapped ? 0 : fail(EINVAL)
    }

    func groupStatus(group: Int32, _ status: inout vfio_group_status) -> Int32 {
        status.flags = cvfio_group_flags_viable()
        return 0
    }

    func setContainer(group: Int32, container: Int32) -> Int32 {
        state.withLock { state in
            state.containers[container, default: Container()].groups.insert(group)
            state.containerOfGroup[group] = container
        }
        return 0
    }

    func deviceFD(group: Int32, address: String) -> Int32 { fail(ENODEV) }

    func close(_ descriptor: Int32) {
        state.withLock { state in
            state.closed.append(descriptor)
            if let container = state.containerOfGroup.removeValue(forKey: descriptor) {
                state.containers[container]?.groups.remove(descriptor)
                if state.containers[container]?.groups.isEmpty == true {
                    state.containers[container]?.iommuSet = false
                    state.containers[container]?.mappings.removeAll()
                }
            }
        }
        closeDescriptor(descriptor)
    }

    /// Whether `group` is still attached to a container.
    func isAttached(group: Int32) -> Bool { state.withLock { $0.containerOfGroup[group] != nil } }
    var closedDescriptors: [Int32] { state.withLock { $0.closed } }
}

private func closeDescriptor(_ descriptor: Int32) { _ = close(descriptor) }
