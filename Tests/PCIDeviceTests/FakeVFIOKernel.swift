import CVFIO
import Foundation
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
///
/// With a `deviceFile`, a group hands out device fds on it (BAR0 in its first page, config space in
/// the second, the device request IRQ offered), and removal follows vfio-pci: `requestRemoval`
/// signals the device's request eventfd, and once that device's fd closes the kernel unregisters
/// it and, the group having no other device, detaches the group from its container (dropping the
/// IOMMU as above) although the group fd is still open (`vfio_device_remove_group`).
final class FakeVFIOKernel: VFIOKernel {
    struct Container {
        var groups: Set<Int32> = []
        var iommuSet = false
        var mappings: [UInt64: UInt64] = [:]
    }

    /// A device fd the fake handed out.
    struct Device {
        var group: Int32
        var requestEventfd: Int32?
        var removalRequested = false
    }

    /// What the fake saw, in order: the unmaps (done or refused) and the closes.
    enum Event: Equatable {
        case unmapped(iova: UInt64)
        case unmapRefused(iova: UInt64)
        case closed(Int32)
    }

    /// A VFIO_DEVICE_SET_IRQS the fake saw: the index and the eventfds (empty: disable).
    struct IRQSet: Equatable {
        var index: UInt32
        var eventfds: [Int32]
    }

    struct State {
        /// Every VFIO_DEVICE_SET_IRQS for MSI-X, in order, and the vectors enabled now (0: off).
        var msixSets: [IRQSet] = []
        var msixEnabled = 0
        var containers: [Int32: Container] = [:]
        var containerOfGroup: [Int32: Int32] = [:]
        var devices: [Int32: Device] = [:]
        var events: [Event] = []
        /// Every descriptor closed, in order.
        var closed: [Int32] { events.compactMap { if case .closed(let fd) = $0 { fd } else { nil } } }
    }

    /// BAR0's size in the device file; config space follows it.
    static let barSize = 4096
    static let configSize = 256

    let state = Mutex(State())
    /// The file device fds are opened on; nil: VFIO_GROUP_GET_DEVICE_FD fails with ENODEV.
    let deviceFile: String?
    /// MSI-X vectors VFIO_DEVICE_GET_IRQ_INFO reports.
    let msixVectors: Int
    /// When set, VFIO_DEVICE_SET_IRQS enabling MSI-X fails with this errno (as when the kernel
    /// cannot allocate the vectors).
    let msixFailure: Int32?

    init(deviceFile: String? = nil, msixVectors: Int = 0, msixFailure: Int32? = nil) {
        self.deviceFile = deviceFile
        self.msixVectors = msixVectors
        self.msixFailure = msixFailure
    }

    /// A file in `scratch` large enough to stand in for a device: BAR0, then config space.
    static func deviceFile(in scratch: ScratchDirectory) throws -> String {
        let path = try scratch.file("device")
        guard truncate(path, off_t(barSize + configSize)) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        return path
    }

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
                  state.containers[container]?.mappings[iova] == size else {
                state.events.append(.unmapRefused(iova: iova))
                return false
            }
            state.containers[container]?.mappings[iova] = nil
            state.events.append(.unmapped(iova: iova))
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

    func deviceFD(group: Int32, address: String) -> Int32 {
        guard let deviceFile else { return fail(ENODEV) }
        let fd = open(deviceFile, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return -1 }
        state.withLock { $0.devices[fd] = Device(group: group) }
        return fd
    }

    func deviceInfo(device: Int32, _ info: inout vfio_device_info) -> Int32 {
        guard state.withLock({ $0.devices[device] != nil }) else { return fail(EBADF) }
        info.flags = cvfio_device_flags_reset()
        info.num_regions = cvfio_pci_config_region_index() + 1
        info.num_irqs = cvfio_pci_req_irq_index() + 1  // INTx, MSI, MSI-X, error, request
        return 0
    }

    func regionInfo(device: Int32, _ region: inout vfio_region_info) -> Int32 {
        switch region.index {
        case cvfio_pci_bar0_region_index():
            region.offset = 0
            region.size = UInt64(Self.barSize)
            region.flags = cvfio_region_info_flag_mmap()
        case cvfio_pci_config_region_index():
            region.offset = UInt64(Self.barSize)
            region.size = UInt64(Self.configSize)
            region.flags = 0
        default:
            return fail(EINVAL)
        }
        return 0
    }

    func irqInfo(device: Int32, _ irq: inout vfio_irq_info) -> Int32 {
        switch irq.index {
        case cvfio_pci_req_irq_index(): irq.count = 1
        case cvfio_pci_msix_irq_index(): irq.count = UInt32(msixVectors)
        default: irq.count = 0
        }
        return 0
    }

    /// vfio-pci's rules for MSI-X (drivers/vfio/pci/vfio_pci_intrs.c): eventfds for vectors 0 to
    /// n - 1 enable MSI-X with n vectors when it is off; while it is on, only vectors it was
    /// enabled with can be set (EINVAL beyond); no eventfds disables it (EINVAL when it is off).
    func setIRQEventfds(device: Int32, index: UInt32, eventfds: [Int32]) -> Int32 {
        guard index == cvfio_pci_msix_irq_index(), eventfds.count <= msixVectors else { return fail(EINVAL) }
        if !eventfds.isEmpty, let msixFailure { return fail(msixFailure) }
        let code = state.withLock { state -> Int32 in
            if eventfds.isEmpty {
                guard state.msixEnabled > 0 else { return EINVAL }
                state.msixEnabled = 0
            } else if state.msixEnabled == 0 {
                state.msixEnabled = eventfds.count
            } else if eventfds.count > state.msixEnabled {
                return EINVAL
            }
            state.msixSets.append(IRQSet(index: index, eventfds: eventfds))
            return 0
        }
        return code == 0 ? 0 : fail(code)
    }

    func setIRQEventfd(device: Int32, index: UInt32, eventfd: Int32) -> Int32 {
        guard index == cvfio_pci_req_irq_index() else { return fail(EINVAL) }
        state.withLock { $0.devices[device]?.requestEventfd = eventfd }
        return 0
    }

    func resetDevice(_ device: Int32) -> Int32 { 0 }

    func close(_ descriptor: Int32) {
        state.withLock { state in
            state.events.append(.closed(descriptor))
            if let device = state.devices.removeValue(forKey: descriptor), device.removalRequested,
               !state.devices.values.contains(where: { $0.group == device.group }) {
                // The removed device was its group's last: the group leaves its container.
                detach(group: device.group, &state)
            }
            detach(group: descriptor, &state)
        }
        closeDescriptor(descriptor)
    }

    /// Detaches `group` from its container, if attached; the container's last group takes its IOMMU.
    private func detach(group: Int32, _ state: inout State) {
        guard let container = state.containerOfGroup.removeValue(forKey: group) else { return }
        state.containers[container]?.groups.remove(group)
        if state.containers[container]?.groups.isEmpty == true {
            state.containers[container]?.iommuSet = false
            state.containers[container]?.mappings.removeAll()
        }
    }

    /// Begins removing the device open as `device`, as `echo 1 > .../remove` does: its request
    /// eventfd is signalled, and its close will detach its group.
    func requestRemoval(of device: Int32) {
        let eventfd = state.withLock { state -> Int32? in
            state.devices[device]?.removalRequested = true
            return state.devices[device]?.requestEventfd
        }
        guard let eventfd else { return }
        var one: UInt64 = 1
        _ = write(eventfd, &one, MemoryLayout<UInt64>.size)
    }

    /// Whether `group` is still attached to a container.
    func isAttached(group: Int32) -> Bool { state.withLock { $0.containerOfGroup[group] != nil } }
    var closedDescriptors: [Int32] { state.withLock { $0.closed } }
    var events: [Event] { state.withLock { $0.events } }
    var msixSets: [IRQSet] { state.withLock { $0.msixSets } }
    var msixEnabled: Int { state.withLock { $0.msixEnabled } }
}

private func closeDescriptor(_ descriptor: Int32) { _ = close(descriptor) }
