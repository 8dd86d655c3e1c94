import Foundation
@testable import PCIDevice

/// A sysfs-shaped tree in a temporary folder: bus/pci/{devices,drivers,drivers_probe} and
/// kernel/iommu_groups, with the same symlinks real sysfs has. It does not react to writes by itself;
/// `kernelWriter` plays the kernel's part after each real file write, including its refusals.
final class FakeSysfs: Sendable {
    let root: String
    var busPCI: String { root + "/bus/pci" }

    init() throws {
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
    func addDriver(_ name: String) throws {
        let dir = busPCI + "/drivers/" + name
        try make(dir)
        try write("", to: dir + "/bind")
        try write("", to: dir + "/unbind")
    }

    func loadVFIO() throws { try addDriver("vfio-pci") }

    /// Adds a function with the attribute files libpci and the binder read.
    func addDevice(_ address: String, vendor: UInt16 = 0x144d, device: UInt16 = 0xa808,
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
    func configSpace(vendor: UInt16, device: UInt16, classCode: UInt32) -> Data {
        var bytes = [UInt8](repeating: 0, count: 64)
        bytes[0] = UInt8(vendor & 0xFF); bytes[1] = UInt8(vendor >> 8)
        bytes[2] = UInt8(device & 0xFF); bytes[3] = UInt8(device >> 8)
        bytes[9] = UInt8(classCode & 0xFF); bytes[10] = UInt8(classCode >> 8 & 0xFF); bytes[11] = UInt8(classCode >> 16)
        bytes[0x0E] = classCode >> 8 == 0x0604 ? 1 : 0
        return Data(bytes)
    }

    /// Plays the kernel binding `address` to `driver` (creating the driver directory if needed).
    func bind(_ address: String, to driver: String) throws {
        if !FileManager.default.fileExists(atPath: busPCI + "/drivers/" + driver) { try addDriver(driver) }
        let link = busPCI + "/devices/" + address + "/driver"
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "../../drivers/" + driver)
    }

    func unbind(_ address: String) {
        try? FileManager.default.removeItem(atPath: busPCI + "/devices/" + address + "/driver")
    }

    func addToGroup(_ address: String, group: Int) throws {
        let groupDevices = root + "/kernel/iommu_groups/\(group)/devices"
        try make(groupDevices)
        try FileManager.default.createSymbolicLink(
            atPath: groupDevices + "/" + address, withDestinationPath: "../../../../bus/pci/devices/" + address)
        try FileManager.default.createSymbolicLink(
            atPath: busPCI + "/devices/" + address + "/iommu_group",
            withDestinationPath: "../../../../kernel/iommu_groups/\(group)")
    }

    func driver(of address: String) -> String? {
        Sysfs.linkTargetName(busPCI + "/devices/" + address + "/driver")
    }

    func driverOverride(of address: String) -> String? {
        read(busPCI + "/devices/" + address + "/driver_override")
    }

    /// A writer that writes the file, then reacts like the kernel (drivers/base/bus.c):
    /// - `drivers/X/unbind` removes the driver link if X holds the device, else fails with ENODEV;
    /// - `drivers_probe` binds an unbound device to its driver_override, or to
    ///   `nativeDrivers[address]` when none is set, and leaves a bound device alone;
    /// - `drivers/X/bind` fails with EBUSY while another driver holds the device, with ENODEV when
    ///   driver_override names another driver, and binds otherwise.
    /// `refuse` lets a test make the kernel ignore a step; `checkWritable` replaces the permission check.
    func kernelWriter(nativeDrivers: [String: String] = [:],
                      refuse: @escaping @Sendable (String) -> Bool = { _ in false },
                      log: WriteLog? = nil,
                      checkWritable: @escaping @Sendable (String) throws(PCIDeviceError) -> Void = SysfsWriter.accessCheck)
        -> SysfsWriter {
        SysfsWriter(write: { [self] path, value throws(PCIDeviceError) in
            try SysfsWriter.kernel.write(path, value)
            log?.append(path: path, value: value)
            guard !refuse(path) else { return }
            let address = value.trimmingCharacters(in: .whitespacesAndNewlines)
            let driverName = URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent
            if path.hasSuffix("/unbind") {
                guard driver(of: address) == driverName else { throw .sysfsIOFailed(path: path, errno: ENODEV) }
                unbind(address)
            } else if path.hasSuffix("/drivers_probe") {
                guard driver(of: address) == nil else { return }
                if let override = override(of: address) {
                    try? bind(address, to: override)
                } else if let native = nativeDrivers[address] {
                    try? bind(address, to: native)
                }
            } else if path.hasSuffix("/bind") {
                guard driver(of: address) == nil else { throw .sysfsIOFailed(path: path, errno: EBUSY) }
                if let override = override(of: address), override != driverName {
                    throw .sysfsIOFailed(path: path, errno: ENODEV)
                }
                try? bind(address, to: driverName)
            }
        }, checkWritable: checkWritable)
    }

    /// The driver_override value, nil when cleared ("(null)" or empty, as the kernel shows it).
    func override(of address: String) -> String? {
        let text = driverOverride(of: address)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        return text.isEmpty || text == "(null)" ? nil : text
    }
}

/// Records the writes a binder made, in order, so tests can check the sequence.
final class WriteLog: @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var entries: [(path: String, value: String)] = []

    func append(path: String, value: String) {
        lock.withLock { entries.append((path, value)) }
    }

    var writes: [(path: String, value: String)] { lock.withLock { entries } }
}
