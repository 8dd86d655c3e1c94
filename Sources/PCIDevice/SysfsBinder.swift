import Logging

/// What `SysfsBinder.bindToVFIO` changed, so `giveBack` can undo it.
public struct BindRecord: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The function that was bound.
    public var address: PCIAddress
    /// The driver it had before (nil: it was unbound). "vfio-pci" means binding was a no-op.
    public var previousDriver: String?

    public init(address: PCIAddress, previousDriver: String?) {
        self.address = address
        self.previousDriver = previousDriver
    }

    /// True when the device was already on vfio-pci, so there is nothing to give back.
    public var wasAlreadyBound: Bool { previousDriver == SysfsBinder.vfioDriver }

    public var description: String {
        "\(address) (previous driver: \(previousDriver ?? "none"))"
    }
}

/// Moves a PCI function to vfio-pci and back through sysfs (`driver_override`, `unbind`,
/// `drivers_probe`), after checking everything that would make VFIO fail later, so the user gets
/// one error naming the cause and the fix instead of a half-done rebind.
///
/// The kernel carries out sysfs writes synchronously, so after each step the binder reads the
/// `driver` link back and refuses to go on if the step did not take effect.
public struct SysfsBinder: Sendable {
    /// The driver name VFIO devices are bound to.
    public static let vfioDriver = "vfio-pci"
    /// Drivers that may stay bound to other members of the IOMMU group (bridges are not DMA masters
    /// the kernel hands to the user, and vfio-pci accepts them in a viable group).
    static let harmlessGroupDrivers: Set<String> = [vfioDriver, "pcieport"]

    /// The sysfs mount point, "/sys" normally; a temporary folder in tests.
    public let sysfsRoot: String
    /// How attribute writes reach the kernel (see `SysfsWriter`).
    public let writer: SysfsWriter
    private let logger = Logger(label: "PCIDevice.SysfsBinder")

    public init(sysfsRoot: String = "/sys", writer: SysfsWriter = .kernel) {
        self.sysfsRoot = sysfsRoot
        self.writer = writer
    }

    // MARK: Paths

    var busPCI: String { sysfsRoot + "/bus/pci" }
    func devicePath(_ address: PCIAddress) -> String { busPCI + "/devices/\(address)" }
    func driverPath(_ name: String) -> String { busPCI + "/drivers/" + name }
    var iommuGroupsPath: String { sysfsRoot + "/kernel/iommu_groups" }

    // MARK: Queries

    /// The driver bound to `address` now, nil if none.
    public func currentDriver(of address: PCIAddress) -> String? {
        Sysfs.linkTargetName(devicePath(address) + "/driver")
    }

    /// The IOMMU group of `address`, nil when it has none.
    public func iommuGroup(of address: PCIAddress) -> Int? {
        Sysfs.linkTargetName(devicePath(address) + "/iommu_group").flatMap { Int($0) }
    }

    /// Runs every check `bindToVFIO` makes before touching anything, and returns the device's IOMMU group.
    @discardableResult
    public func checkBindable(_ address: PCIAddress) throws(PCIDeviceError) -> Int {
        guard Sysfs.isDirectory(devicePath(address)) else {
            throw .deviceNotFound(address, sysfsDevices: busPCI + "/devices")
        }
        guard Sysfs.isDirectory(driverPath(Self.vfioDriver)) else {
            throw .vfioPCINotLoaded(driversDirectory: driverPath(Self.vfioDriver))
        }
        guard let groups = Sysfs.entries(iommuGroupsPath), !groups.isEmpty else {
            throw .noIOMMUGroups(directory: iommuGroupsPath)
        }
        guard let group = iommuGroup(of: address) else { throw .deviceHasNoIOMMUGroup(address) }
        let members = Sysfs.entries(iommuGroupsPath + "/\(group)/devices") ?? []
        let offenders = members.compactMap { name -> PCIDeviceError.GroupMember? in
            guard name != address.description else { return nil }
            guard let driver = Sysfs.linkTargetName(busPCI + "/devices/\(name)/driver"),
                  !Self.harmlessGroupDrivers.contains(driver) else { return nil }
            return PCIDeviceError.GroupMember(address: name, driver: driver)
        }
        guard offenders.isEmpty else { throw .groupNotViable(group: group, offenders: offenders) }
        return group
    }

    // MARK: Binding

    /// Parses `address` and binds it; see `bindToVFIO(_:)`.
    public func bindToVFIO(_ address: String) throws(PCIDeviceError) -> BindRecord {
        try bindToVFIO(PCIAddress(parsing: address))
    }

    /// Binds `address` to vfio-pci, unbinding its current driver. Already on vfio-pci: a no-op whose
    /// record gives nothing back.
    public func bindToVFIO(_ address: PCIAddress) throws(PCIDeviceError) -> BindRecord {
        try checkBindable(address)
        let previous = currentDriver(of: address)
        let record = BindRecord(address: address, previousDriver: previous)
        if previous == Self.vfioDriver {
            logger.info("\(address) is already bound to vfio-pci")
            return record
        }
        let name = address.description
        // driver_override first: from then on no other driver can grab the device between unbind and probe.
        try writer.write(devicePath(address) + "/driver_override", Self.vfioDriver)
        do {
            if let previous {
                let unbind = driverPath(previous) + "/unbind"
                try writer.write(unbind, name)
                try expectDriver(nil, on: address, after: unbind)
            }
            let probe = busPCI + "/drivers_probe"
            try writer.write(probe, name)
            try expectDriver(Self.vfioDriver, on: address, after: probe)
        } catch {
            // Leave the device as we found it as far as possible; the first error is the one to report.
            logger.warning("binding \(address) to vfio-pci failed, restoring \(previous ?? "no driver")")
            try? giveBack(record)
            throw error
        }
        logger.info("bound \(address) to vfio-pci (was \(previous ?? "unbound"))")
        return record
    }

    /// Undoes `bindToVFIO`: clears driver_override, unbinds vfio-pci and lets the previous driver
    /// take the device again (re-probe, then an explicit bind if probing chose differently).
    public func giveBack(_ record: BindRecord) throws(PCIDeviceError) {
        let address = record.address
        guard !record.wasAlreadyBound else { return }
        guard Sysfs.isDirectory(devicePath(address)) else {
            throw .deviceNotFound(address, sysfsDevices: busPCI + "/devices")
        }
        let name = address.description
        try writer.write(devicePath(address) + "/driver_override", "\n")
        let current = currentDriver(of: address)
        if current == record.previousDriver { return }
        if let current {
            let unbind = driverPath(current) + "/unbind"
            try writer.write(unbind, name)
            try expectDriver(nil, on: address, after: unbind)
        }
        guard let previous = record.previousDriver else { return }
        var step = busPCI + "/drivers_probe"
        try writer.write(step, name)
        if currentDriver(of: address) != previous, Sysfs.isDirectory(driverPath(previous)) {
            step = driverPath(previous) + "/bind"
            try writer.write(step, name)
        }
        try expectDriver(previous, on: address, after: step)
        logger.info("gave \(address) back to \(previous)")
    }

    /// Reads the driver link back and throws when the last write did not have the expected effect.
    private func expectDriver(_ expected: String?, on address: PCIAddress,
                              after step: String) throws(PCIDeviceError) {
        let found = currentDriver(of: address)
        guard found == expected else {
            throw .bindingDidNotTakeEffect(address, step: step, expected: expected, found: found)
        }
    }
}
