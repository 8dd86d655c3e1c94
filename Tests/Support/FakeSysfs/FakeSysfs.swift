import Foundation

/// A sysfs-shaped tree in a temporary folder: bus/pci/{devices,drivers,drivers_probe} and
/// kernel/iommu_groups, with the same symlinks real sysfs has. It does not react to writes by
/// itself: the tests that need the kernel's part (PCIDeviceTests' `kernelWriter`) add it on top.
///
/// Shared by PCIDeviceTests and CtrlBenchTests (test targets cannot depend on one another), so it
/// uses Foundation only and nothing from the package's sources.
public final class FakeSysfs: Sendable {
    /// The folder standing in for /sys.
    public let root: String
    /// `root`/bus/pci.
    public var busPCI: String { root + "/bus/pci" }

    /// An empty machine: no devices, no drivers, no IOMMU groups.
    public init() throws {
        root = NSTemporaryDirectory() + "fake-sysfs-" + UUID().uuidString
        try make(busPCI + "/devices")
        try make(busPCI + "/drivers")
        try make(root + "/kernel/iommu_groups")
        try write("", to: busPCI + "/drivers_probe")
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func make(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    /// Adds a driver directory with its bind/unbind attributes.
    public func addDriver(_ name: String) throws {
        let dir = busPCI + "/drivers/" + name
        try make(dir)
        try write("", to: dir + "/bind")
        try write("", to: dir + "/unbind")
    }

    /// Loads vfio-pci: adds its driver directory.
    public func loadVFIO() throws { try addDriver("vfio-pci") }

    /// Adds a function with the attribute files libpci and the binder read.
    public func addDevice(_ address: String, vendor: UInt16 = 0x144d, device: UInt16 = 0xa808,
                          classCode: UInt32 = 0x010802, driver: String? = nil, group: Int? = nil,
                          numaNode: Int = -1) throws {
        let dir = busPCI + "/devices/" + address
        try make(dir)
        try write(String(format: "0x%04x\n", vendor), to: dir + "/vendor")
        try write(String(format: "0x%04x\n", device), to: dir + "/device")
        try write(String(format: "0x%06x\n", classCode), to: dir + "/class")
        try write("0x00\n", to: dir + "/revision")
        try write("0x0000\n", to: dir + "/subsystem_vendor")
        try write("0x0000\n", to: dir + "/subsystem_device")
        try write("0\n", to: dir + "/irq")
        try write("\(numaNode)\n", to: dir + "/numa_node")
        try write("(null)\n", to: dir + "/driver_override")
        try write(String(repeating: "0x0000000000000000 0x0000000000000000 0x0000000000000000\n", count: 13),
                  to: dir + "/resource")
        try configSpace(vendor: vendor, device: device, classCode: classCode)
            .write(to: URL(fileURLWithPath: dir + "/config"))
        if let driver { try bind(address, to: driver) }
        if let group { try addToGroup(address, group: group) }
    }

    /// The first 64 bytes of a type 0 (or, for class 06 04, type 1) configuration header: vendor
    /// 00h, device 02h, class code 09h-0Bh, header type 0Eh, as the kernel's `config` file starts.
    public func configSpace(vendor: UInt16, device: UInt16, classCode: UInt32) -> Data {
        var bytes = [UInt8](repeating: 0, count: 64)
        bytes[0] = UInt8(vendor & 0xFF); bytes[1] = UInt8(vendor >> 8)
        bytes[2] = UInt8(device & 0xFF); bytes[3] = UInt8(device >> 8)
        bytes[9] = UInt8(classCode & 0xFF); bytes[10] = UInt8(classCode >> 8 & 0xFF); bytes[11] = UInt8(classCode >> 16)
        bytes[0x0E] = classCode >> 8 == 0x0604 ? 1 : 0
        return Data(bytes)
    }

    /// Plays the kernel binding `address` to `driver` (creating the driver directory if needed).
    public func bind(_ address: String, to driver: String) throws {
        if !FileManager.default.fileExists(atPath: busPCI + "/drivers/" + driver) { try addDriver(driver) }
        let link = busPCI + "/devices/" + address + "/driver"
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "../../drivers/" + driver)
    }

    /// Plays the kernel unbinding `address`: removes its `driver` link.
    public func unbind(_ address: String) {
        try? FileManager.default.removeItem(atPath: busPCI + "/devices/" + address + "/driver")
    }

    /// Puts `address` in IOMMU group `group`: the group's `devices` link and the device's `iommu_group`.
    public func addToGroup(_ address: String, group: Int) throws {
        let groupDevices = root + "/kernel/iommu_groups/\(group)/devices"
        try make(groupDevices)
        try FileManager.default.createSymbolicLink(
            atPath: groupDevices + "/" + address, withDestinationPath: "../../../../bus/pci/devices/" + address)
        try FileManager.default.createSymbolicLink(
            atPath: busPCI + "/devices/" + address + "/iommu_group",
            withDestinationPath: "../../../../kernel/iommu_groups/\(group)")
    }

    /// The driver the tree shows `address` bound to (its `driver` link's last component), nil when unbound.
    public func driver(of address: String) -> String? {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: busPCI + "/devices/" + address + "/driver"))
            .map { URL(fileURLWithPath: $0).lastPathComponent }
    }

    /// The raw driver_override file of `address`, as written (nil when it cannot be read).
    public func driverOverride(of address: String) -> String? {
        read(busPCI + "/devices/" + address + "/driver_override")
    }

    /// The driver_override value, nil when cleared ("(null)" or empty, as the kernel shows it).
    public func override(of address: String) -> String? {
        let text = driverOverride(of: address)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        return text.isEmpty || text == "(null)" ? nil : text
    }
}
