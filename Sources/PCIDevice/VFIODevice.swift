import CVFIO
import HexFormat
import Logging
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A PCI function opened through VFIO: BAR0 mapped for register access, config space through the
/// device fd, reset through VFIO_DEVICE_RESET. It keeps its group (and so its container) alive.
///
/// Opening it turns on memory-space decoding and bus mastering (the controller must DMA to its
/// queues); releasing it turns bus mastering off again before the device fd closes. While open,
/// it hears the kernel's request for the device (removal, unbind): BAR0 then behaves as a
/// removed device's (see `removalRequested`). Every DMA buffer mapped through `iommu` keeps it
/// open until the buffer is unmapped, so the kernel's removal completes once the device and every
/// such buffer are gone.
///
/// Sendable: every stored property is an immutable `let`; register access goes through `MMIORegion`.
public final class VFIODevice: DeviceInterface {
    /// The function's address.
    public let address: PCIAddress
    /// The group the device was opened from.
    public let group: VFIOGroup
    /// BAR0, mapped.
    public let bar0: MMIORegion
    /// NUMA node from sysfs (`numa_node`), nil when the platform reports -1.
    public let numaNode: Int?
    /// VFIO_DEVICE_FLAGS_* from VFIO_DEVICE_GET_INFO.
    public let deviceFlags: UInt32
    /// Number of regions the device reports (BARs, ROM, config space, device-specific ones).
    public let regionCount: Int
    /// Number of IRQ index types (INTx, MSI, MSI-X, error, request).
    public let irqIndexCount: Int
    /// MSI-X vectors VFIO offers (0 when the device has no MSI-X).
    public let msixVectorCount: Int
    /// Where config space starts in the device fd.
    let configOffset: Int64
    /// How many bytes of config space the region holds.
    let configSize: Int
    /// The device fd; closed in deinit.
    let descriptor: FileDescriptor
    /// Where the VFIO calls go (the group's container's): the kernel, or a fake of it in tests.
    let kernel: any VFIOKernel
    /// The thread that hears the kernel's device request; nil when vfio-pci does not offer it.
    let requestWatch: DeviceRequestWatch?
    /// Vectors of MSI-X enabled through `setInterruptTriggers` (0: MSI-X is off).
    let msixEnabledVectors = Atomic<Int>(0)
    private let logger = Logger(label: "PCIDevice.VFIODevice")

    /// Opens `address` end to end: the container, the device's IOMMU group (found through sysfs),
    /// the group, then the device, with memory space and bus mastering enabled so the controller
    /// can answer on BAR0 and DMA. Every missing piece is a `PCIDeviceError` that says what to do.
    public static func open(_ address: PCIAddress, sysfsRoot: String = "/sys",
                            vfioDirectory: String = "/dev/vfio") throws(PCIDeviceError) -> VFIODevice {
        let container = try VFIOContainer(path: vfioDirectory + "/vfio")
        let binder = SysfsBinder(sysfsRoot: sysfsRoot)
        guard let groupNumber = binder.iommuGroup(of: address) else { throw .deviceHasNoIOMMUGroup(address) }
        let group = try VFIOGroup(number: groupNumber, container: container, vfioDirectory: vfioDirectory)
        let numa = Sysfs.readInt(binder.devicePath(address) + "/numa_node").flatMap { $0 >= 0 ? $0 : nil }
        return try VFIODevice(address: address, group: group, numaNode: numa)
    }

    /// Opens `address` from an attached group, maps BAR0 and enables memory space and bus mastering.
    public init(address: PCIAddress, group: VFIOGroup, numaNode: Int? = nil) throws(PCIDeviceError) {
        self.address = address
        self.group = group
        self.numaNode = numaNode
        let kernel = group.container.kernel
        self.kernel = kernel
        let fd = try group.deviceDescriptor(for: address)
        do {
            var info = vfio_device_info()
            info.argsz = UInt32(MemoryLayout<vfio_device_info>.size)
            guard kernel.deviceInfo(device: fd.rawValue, &info) == 0 else {
                throw PCIDeviceError.vfioCallFailed(call: "VFIO_DEVICE_GET_INFO(\(address))", errno: errno)
            }
            let bar = try Self.regionInfo(fd, kernel, index: cvfio_pci_bar0_region_index(), address: address)
            guard bar.size > 0, bar.flags & cvfio_region_info_flag_mmap() != 0 else {
                throw PCIDeviceError.regionUnavailable("BAR0 of \(address) is empty or cannot be mapped")
            }
            // Sizes and offsets come from the kernel as u64; refuse what this process cannot address.
            guard let barSize = Int(exactly: bar.size), let barOffset = Int64(exactly: bar.offset) else {
                throw PCIDeviceError.regionUnavailable("BAR0 of \(address): \(bar.size) bytes at \(hex(bar.offset)) cannot be mapped")
            }
            let config = try Self.regionInfo(fd, kernel, index: cvfio_pci_config_region_index(), address: address)
            guard let configLength = Int(exactly: config.size), let configStart = Int64(exactly: config.offset) else {
                throw PCIDeviceError.regionUnavailable("config space of \(address): \(config.size) bytes cannot be addressed")
            }
            var irq = vfio_irq_info()
            irq.argsz = UInt32(MemoryLayout<vfio_irq_info>.size)
            irq.index = cvfio_pci_msix_irq_index()
            let msix = info.num_irqs > irq.index && kernel.irqInfo(device: fd.rawValue, &irq) == 0 ? Int(irq.count) : 0

            let region = try MMIORegion(mapping: fd.rawValue, offset: barOffset, size: barSize, what: "BAR0 of \(address)")
            bar0 = region
            requestWatch = Self.watchRemovalRequests(fd, kernel, irqIndexCount: info.num_irqs, bar: region, address: address, logger: logger)
            deviceFlags = info.flags
            regionCount = Int(info.num_regions)
            irqIndexCount = Int(info.num_irqs)
            msixVectorCount = msix
            configOffset = configStart
            configSize = configLength
            descriptor = fd
        } catch let error as PCIDeviceError {
            kernel.close(fd.rawValue)
            throw error
        } catch {
            kernel.close(fd.rawValue)
            throw .vfioCallFailed(call: "opening \(address)", errno: EIO)
        }
        // Fully initialised from here: if this throws, deinit clears bus mastering and closes the fd.
        try enableMemoryAndBusMastering()
    }

    deinit {
        // The thread first: no request can arrive once the device fd is closed.
        requestWatch?.stop()
        do { try disableBusMastering() } catch {
            logger.warning("could not clear bus mastering on \(address) before closing it: \(error)")
        }
        kernel.close(descriptor.rawValue)
    }

    private static func regionInfo(_ fd: FileDescriptor, _ kernel: any VFIOKernel, index: UInt32,
                                   address: PCIAddress) throws(PCIDeviceError) -> vfio_region_info {
        var region = vfio_region_info()
        region.argsz = UInt32(MemoryLayout<vfio_region_info>.size)
        region.index = index
        guard kernel.regionInfo(device: fd.rawValue, &region) == 0 else {
            throw .vfioCallFailed(call: "VFIO_DEVICE_GET_REGION_INFO(\(address), region \(index))", errno: errno)
        }
        return region
    }

    // MARK: DeviceInterface

    /// The PCI address, canonical form.
    public var name: String { address.description }
    /// The size of BAR0, the bound every register access is checked against.
    public var registerSpaceSize: Int { bar0.size }
    /// Maps through the group's VFIO type1 container, and holds this device: a DMA buffer keeps the
    /// device open (so the group attached and the container's IOMMU alive) until it is unmapped,
    /// even when the engine lets go of the device first (see `VFIODeviceMappings`). A new handle
    /// each time, so the device never holds one itself (no cycle).
    public var iommu: any IOMMU { VFIODeviceMappings(self) }

    /// Volatile 32-bit read of BAR0; all ones for an offset outside it (see `MMIORegion`).
    public func readRegister32(at offset: Int) -> UInt32 { bar0.load32(at: offset) }
    /// Volatile 64-bit read of BAR0; all ones for an offset outside it.
    public func readRegister64(at offset: Int) -> UInt64 { bar0.load64(at: offset) }
    /// Volatile 32-bit write to BAR0; dropped and counted for an offset outside it.
    public func writeRegister32(_ value: UInt32, at offset: Int) { bar0.store32(value, at: offset) }
    /// Volatile 64-bit write to BAR0; dropped and counted for an offset outside it.
    public func writeRegister64(_ value: UInt64, at offset: Int) { bar0.store64(value, at: offset) }

    /// BAR0's mapped address for the 32-bit register at `offset` (doorbells); nil outside BAR0.
    public func registerAddress32(at offset: Int) -> UnsafeMutableRawPointer? { bar0.address32(at: offset) }

    /// Whether VFIO offers a reset (FLR, PM or bus reset) for this function.
    public var supportsReset: Bool { deviceFlags & cvfio_device_flags_reset() != 0 }

    /// VFIO_DEVICE_RESET; throws `resetUnsupported` when the device info flags do not offer it.
    public func reset() throws {
        guard supportsReset else { throw PCIDeviceError.resetUnsupported(name) }
        guard kernel.resetDevice(descriptor.rawValue) == 0 else {
            throw PCIDeviceError.vfioCallFailed(call: "VFIO_DEVICE_RESET(\(address))", errno: errno)
        }
    }
}
