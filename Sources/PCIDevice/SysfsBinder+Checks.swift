/// Everything `bindToVFIO` checks before it writes anything.
extension SysfsBinder {
    /// Drivers the kernel lets stay bound to other members of a group handed to VFIO (besides
    /// vfio-pci itself): pci-stub, which never touches its devices. Bridges are allowed whatever
    /// their driver; see `isBridge`.
    static let groupSafeDrivers: Set<String> = [vfioDriver, "pci-stub"]

    /// Runs every check `bindToVFIO` makes before touching anything, and returns the device's IOMMU group:
    /// the device exists, it is an NVMe controller (unless `force`), its driver does not have it in
    /// use (see `usersOfFunction`), vfio-pci is loaded, the IOMMU is on and the device has a group, every other
    /// member of the group is unbound, on vfio-pci or pci-stub, or a bridge, and this process may write
    /// each file binding will write.
    @discardableResult
    public func checkBindable(_ address: PCIAddress, force: Bool = false) throws(PCIDeviceError) -> Int {
        guard Sysfs.isDirectory(devicePath(address)) else {
            throw .deviceNotFound(address, sysfsDevices: devicesPath)
        }
        let driver = currentDriver(of: address)
        if !force, driver != Self.vfioDriver {
            let classCode = self.classCode(of: address)
            guard classCode == Self.nvmeClassCode else {
                throw .notNVMe(address, classCode: classCode, driver: driver)
            }
        }
        if let driver, driver != Self.vfioDriver {
            let users = usersOfFunction(address)
            guard users.isEmpty else { throw .functionInUse(address, driver: driver, users: users) }
        }
        guard Sysfs.isDirectory(driverPath(Self.vfioDriver)) else {
            throw .vfioPCINotLoaded(driversDirectory: driverPath(Self.vfioDriver))
        }
        guard let groups = Sysfs.entries(iommuGroupsPath), !groups.isEmpty else {
            throw .noIOMMUGroups(directory: iommuGroupsPath)
        }
        guard let group = iommuGroup(of: address) else { throw .deviceHasNoIOMMUGroup(address) }
        let offenders = (Sysfs.entries(iommuGroupsPath + "/\(group)/devices") ?? []).compactMap { name in
            name == address.description ? nil : groupOffender(name)
        }
        guard offenders.isEmpty else { throw .groupNotViable(group: group, offenders: offenders) }
        try checkWritePermissions(address)
        return group
    }

    /// The member `name` with its driver when that driver keeps the group from being viable.
    func groupOffender(_ name: String) -> PCIDeviceError.GroupMember? {
        let path = devicesPath + "/" + name
        guard let driver = Sysfs.linkTargetName(path + "/driver"),
              !Self.groupSafeDrivers.contains(driver), !Self.isBridge(path) else { return nil }
        return PCIDeviceError.GroupMember(address: name, driver: driver)
    }

    /// Whether the function at `path` is a bridge: its header type (config space byte 0Eh, bits
    /// 6:0) is not 0 ("normal"). The kernel lets bridges stay on their drivers in a group given to
    /// VFIO, since user space never gets them. Where `config` cannot be read, the class code says
    /// it: 06 04 (PCI-to-PCI bridge, header type 1) or 06 07 (CardBus bridge, header type 2).
    static func isBridge(_ path: String) -> Bool {
        if let header = Sysfs.readByte(path + "/config", at: 0x0E) { return header & 0x7F != 0 }
        guard let classCode = Sysfs.readHex(path + "/class") else { return false }
        return classCode >> 8 == 0x0604 || classCode >> 8 == 0x0607
    }

    /// Checks write access to driver_override, the current driver's unbind and drivers_probe, so a
    /// missing permission is reported with its file before anything has changed. Nothing is written
    /// for a function already on vfio-pci, so nothing is checked then.
    func checkWritePermissions(_ address: PCIAddress) throws(PCIDeviceError) {
        let current = currentDriver(of: address)
        guard current != Self.vfioDriver else { return }
        try writer.checkWritable(overridePath(address))
        if let current { try writer.checkWritable(driverPath(current) + "/unbind") }
        try writer.checkWritable(probePath)
    }

    /// Checks that `address` can be opened through VFIO, before anything under /dev/vfio is
    /// touched: the function exists and is bound to vfio-pci. Without it, a mistyped address
    /// surfaces as a complaint about /dev/vfio or an IOMMU group instead of the address itself.
    public func checkOpenable(_ address: PCIAddress) throws(PCIDeviceError) {
        guard Sysfs.isDirectory(devicePath(address)) else {
            throw .deviceNotFound(address, sysfsDevices: devicesPath)
        }
        let driver = currentDriver(of: address)
        guard driver == Self.vfioDriver else { throw .notOnVFIO(address, driver: driver) }
    }
}
