import CVFIO
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One PCI function as libpci reports it.
public struct PCIFunction: Sendable, Hashable, Codable {
    /// Where the function sits.
    public var address: PCIAddress
    /// PCI vendor id (0x8086 Intel, 0x144d Samsung...).
    public var vendorID: UInt16
    /// PCI device id, vendor-specific.
    public var deviceID: UInt16
    /// Class code as 24 bits: base class, subclass, programming interface (0x010802 is NVMe).
    public var classCode: UInt32
    /// NUMA node the function is attached to; nil when the platform does not say (-1).
    public var numaNode: Int?
    /// Kernel driver bound to the function, nil when unbound.
    public var driver: String?
    /// IOMMU group number, nil when the IOMMU is off or the function is not in a group.
    public var iommuGroup: Int?

    /// A function as discovery reports it (tests and tools build them by hand too).
    public init(address: PCIAddress, vendorID: UInt16, deviceID: UInt16, classCode: UInt32,
                numaNode: Int? = nil, driver: String? = nil, iommuGroup: Int? = nil) {
        self.address = address
        self.vendorID = vendorID
        self.deviceID = deviceID
        self.classCode = classCode
        self.numaNode = numaNode
        self.driver = driver
        self.iommuGroup = iommuGroup
    }

    /// Mass storage (01), non-volatile memory controller (08), NVMe programming interface (02).
    public var isNVMeController: Bool { classCode == 0x01_08_02 }
    /// Base class byte (0x01 mass storage, 0x06 bridge...).
    public var baseClass: UInt8 { UInt8(truncatingIfNeeded: classCode >> 16) }
    /// Subclass byte.
    public var subclass: UInt8 { UInt8(truncatingIfNeeded: classCode >> 8) }
    /// Programming interface byte.
    public var programmingInterface: UInt8 { UInt8(truncatingIfNeeded: classCode) }
}

/// libpci keeps global state in its error handling and is not thread-safe, and our error
/// containment shim (see CVFIO.h) uses one process-wide jump buffer: every use goes through this lock.
private let libpciLock = Mutex<Void>(())

/// Enumerates PCI functions through libpci's sysfs back end.
public struct PCIDiscovery: Sendable {
    /// The directory libpci reads, normally `/sys/bus/pci` (libpci's `sysfs.path` parameter).
    public var sysfsBusPCI: String

    /// - Parameter sysfsBusPCI: point this at a fake tree in tests; it must contain `devices/`.
    public init(sysfsBusPCI: String = "/sys/bus/pci") {
        self.sysfsBusPCI = sysfsBusPCI
    }

    /// Every function on the bus, sorted by address.
    public func scan() throws(PCIDeviceError) -> [PCIFunction] {
        let devices = sysfsBusPCI + "/devices"
        // libpci would only report "Cannot open": say which path and why before it gets there.
        var info = stat()
        guard stat(devices, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw .discoveryFailed("\(devices) is not a readable directory")
        }
        let result: Result<[PCIFunction], PCIDeviceError> = libpciLock.withLock { _ in
            scanLocked()
        }
        return try result.get().sorted { $0.address < $1.address }
    }

    /// The function at `address`, or `deviceNotFound`.
    public func function(at address: PCIAddress) throws(PCIDeviceError) -> PCIFunction {
        guard let found = try scan().first(where: { $0.address == address }) else {
            throw .deviceNotFound(address, sysfsDevices: sysfsBusPCI + "/devices")
        }
        return found
    }

    /// Runs with `libpciLock` held; allocates, scans and always cleans up the libpci context.
    private func scanLocked() -> Result<[PCIFunction], PCIDeviceError> {
        guard let access = pci_alloc() else { return .failure(.discoveryFailed("pci_alloc returned NULL")) }
        defer { pci_cleanup(access) }
        cvfio_pci_install_handlers(access)
        // The sysfs back end only: falling back to /proc or raw port I/O would ignore sysfs.path.
        access.pointee.method = UInt32(PCI_ACCESS_SYS_BUS_PCI.rawValue)
        let setOK = "sysfs.path".withCString { name in
            sysfsBusPCI.withCString { value in
                pci_set_param(access, UnsafeMutablePointer(mutating: name), UnsafeMutablePointer(mutating: value))
            }
        }
        guard setOK == 0 else { return .failure(.discoveryFailed("libpci has no sysfs.path parameter")) }
        guard cvfio_pci_guarded_init_scan(access) == 0 else { return .failure(.discoveryFailed(lastLibpciError())) }

        let wanted = PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_CLASS_EXT | PCI_FILL_NUMA_NODE
            | PCI_FILL_IOMMU_GROUP | PCI_FILL_DRIVER
        var functions: [PCIFunction] = []
        var cursor = access.pointee.devices
        while let device = cursor {
            cursor = device.pointee.next
            let known = cvfio_pci_guarded_fill_info(device, Int32(wanted))
            guard known >= 0 else { return .failure(.discoveryFailed(lastLibpciError())) }
            let d = device.pointee
            let address: PCIAddress
            do {
                address = try PCIAddress(domain: UInt32(bitPattern: d.domain), bus: d.bus, device: d.dev,
                                         function: d.func)
            } catch {
                return .failure(.discoveryFailed("libpci reported an impossible address: \(error)"))
            }
            // prog-if is only known with CLASS_EXT; old libpci versions leave it out.
            let progIf = (known & Int32(PCI_FILL_CLASS_EXT)) != 0 ? UInt32(d.prog_if) : 0
            functions.append(PCIFunction(
                address: address,
                vendorID: d.vendor_id,
                deviceID: d.device_id,
                classCode: UInt32(d.device_class) << 8 | progIf,
                numaNode: (known & Int32(PCI_FILL_NUMA_NODE)) != 0 && d.numa_node >= 0 ? Int(d.numa_node) : nil,
                driver: stringProperty(device, PCI_FILL_DRIVER),
                iommuGroup: stringProperty(device, PCI_FILL_IOMMU_GROUP).flatMap { Int($0) }
            ))
        }
        return .success(functions)
    }

    private func stringProperty(_ device: UnsafeMutablePointer<pci_dev>, _ property: Int32) -> String? {
        guard let raw = cvfio_pci_guarded_string_property(device, UInt32(property)) else { return nil }
        let text = String(cString: raw)
        return text.isEmpty ? nil : text
    }

    private func lastLibpciError() -> String {
        String(cString: cvfio_pci_error_text())
    }
}
