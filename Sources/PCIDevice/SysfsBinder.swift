import Logging

/// What `SysfsBinder.bindToVFIO` changed, so `giveBack` can undo it.
public struct BindRecord: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The function that was bound.
    public var address: PCIAddress
    /// The driver it had before (nil: it was unbound). "vfio-pci" means binding was a no-op.
    public var previousDriver: String?

    /// A record of `address` moved off `previousDriver`; `ctrlbench unbind` rebuilds one from its arguments.
    public init(address: PCIAddress, previousDriver: String?) {
        self.address = address
        self.previousDriver = previousDriver
    }

    /// True when the device was already on vfio-pci, so there is nothing to give back.
    public var wasAlreadyBound: Bool { previousDriver == SysfsBinder.vfioDriver }

    /// `address (previous driver: name)`.
    public var description: String {
        "\(address) (previous driver: \(previousDriver ?? "none"))"
    }
}

/// Moves a PCI function to vfio-pci and back through sysfs (`driver_override`, `unbind`,
/// `drivers_probe`, `bind`), after checking everything that would make it fail half-way (see
/// `checkBindable`), so the user gets one error naming the cause and the fix instead of a
/// half-done rebind. It only ever unbinds a host driver when binding to vfio-pci was asked for,
/// and only ever unbinds vfio-pci when giving back.
///
/// The kernel carries out sysfs writes synchronously, so after each step the binder reads the
/// `driver` link back and refuses to go on if the step did not take effect.
public struct SysfsBinder: Sendable {
    /// The driver name VFIO devices are bound to.
    public static let vfioDriver = "vfio-pci"

    /// The sysfs mount point, "/sys" normally; a temporary folder in tests.
    public let sysfsRoot: String
    /// How attribute writes reach the kernel (see `SysfsWriter`).
    public let writer: SysfsWriter
    /// The procfs mount point, "/proc" normally: where the in-use check reads the mount table
    /// (`self/mountinfo`) and the swap areas (`swaps`); a temporary folder in tests.
    public let procRoot: String
    private let logger = Logger(label: "PCIDevice.SysfsBinder")

    /// A binder over the sysfs tree at `sysfsRoot`, writing through `writer`, reading mounts under `procRoot`.
    public init(sysfsRoot: String = "/sys", writer: SysfsWriter = .kernel, procRoot: String = "/proc") {
        self.sysfsRoot = sysfsRoot
        self.writer = writer
        self.procRoot = procRoot
    }

    // MARK: Paths

    var busPCI: String { sysfsRoot + "/bus/pci" }
    var devicesPath: String { busPCI + "/devices" }
    var probePath: String { busPCI + "/drivers_probe" }
    func devicePath(_ address: PCIAddress) -> String { devicesPath + "/\(address)" }
    func overridePath(_ address: PCIAddress) -> String { devicePath(address) + "/driver_override" }
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

    // MARK: Binding

    /// Parses `address` and binds it; see `bindToVFIO(_:force:)`.
    public func bindToVFIO(_ address: String, force: Bool = false) throws(PCIDeviceError) -> BindRecord {
        try bindToVFIO(PCIAddress(parsing: address), force: force)
    }

    /// Binds `address` to vfio-pci, unbinding its current driver. Already on vfio-pci: a no-op whose
    /// record gives nothing back. A step the kernel refuses is rolled back before the error is thrown.
    /// A function that is not an NVMe controller is refused unless `force` is set; one whose driver
    /// has it in use (mounted, swapped on, held) is refused whatever `force` says.
    public func bindToVFIO(_ address: PCIAddress, force: Bool = false) throws(PCIDeviceError) -> BindRecord {
        try checkBindable(address, force: force)
        let previous = currentDriver(of: address)
        let record = BindRecord(address: address, previousDriver: previous)
        if previous == Self.vfioDriver {
            logger.info("\(address) is already bound to vfio-pci")
            return record
        }
        let name = address.description
        // driver_override first: from then on no other driver can grab the device between unbind and probe.
        try writer.write(overridePath(address), Self.vfioDriver)
        do {
            if let previous {
                let unbind = driverPath(previous) + "/unbind"
                try writer.write(unbind, name)
                try expectDriver(nil, on: address, after: unbind)
            }
            try writer.write(probePath, name)
            try expectDriver(Self.vfioDriver, on: address, after: probePath)
        } catch {
            // Leave the device as we found it as far as possible; the first error is the one to report.
            logger.warning("binding \(address) to vfio-pci failed, restoring \(previous ?? "no driver")")
            do { try restore(record) } catch { logger.warning("restoring \(address) failed too: \(error)") }
            throw error
        }
        logger.info("bound \(address) to vfio-pci (was \(previous ?? "unbound"))")
        return record
    }

    /// Undoes `bindToVFIO`: takes the function off vfio-pci and binds it to `record.previousDriver`
    /// (or leaves it unbound when that is nil). A record of a function that was already on vfio-pci
    /// gives nothing back.
    ///
    /// Refuses, changing nothing, unless the function is on vfio-pci now - it never unbinds a host
    /// driver - and unless the previous driver is loaded, so the function is not left driverless.
    public func giveBack(_ record: BindRecord) throws(PCIDeviceError) {
        let address = record.address
        guard !record.wasAlreadyBound else { return }
        guard Sysfs.isDirectory(devicePath(address)) else {
            throw .deviceNotFound(address, sysfsDevices: devicesPath)
        }
        let current = currentDriver(of: address)
        guard current == Self.vfioDriver else { throw .notBoundToVFIO(address, driver: current) }
        if let previous = record.previousDriver, !Sysfs.isDirectory(driverPath(previous)) {
            throw .previousDriverNotLoaded(address, driver: previous, directory: driverPath(previous))
        }
        try restore(record)
        logger.info("gave \(address) back to \(record.previousDriver ?? "no driver")")
    }

    /// Clears driver_override, unbinds vfio-pci if it holds the function, then binds the previous
    /// driver directly through its `bind` file (a re-probe could pick another driver). Used by
    /// `giveBack` and by a failed bind's rollback, which may find the function unbound or still
    /// on its previous driver.
    private func restore(_ record: BindRecord) throws(PCIDeviceError) {
        let address = record.address
        let name = address.description
        try writer.write(overridePath(address), "\n")
        var current = currentDriver(of: address)
        if current == record.previousDriver { return }
        if current == Self.vfioDriver {
            let unbind = driverPath(Self.vfioDriver) + "/unbind"
            try writer.write(unbind, name)
            try expectDriver(nil, on: address, after: unbind)
            current = nil
        }
        guard let previous = record.previousDriver else { return }
        guard current == nil else {
            throw .bindingDidNotTakeEffect(address, step: overridePath(address), expected: previous, found: current)
        }
        guard Sysfs.isDirectory(driverPath(previous)) else {
            throw .previousDriverNotLoaded(address, driver: previous, directory: driverPath(previous))
        }
        let bind = driverPath(previous) + "/bind"
        try writer.write(bind, name)
        try expectDriver(previous, on: address, after: bind)
    }

    /// Reads the driver link back and throws when the last write did not have the expected effect.
    private func expectDriver(_ expected: String?, on address: PCIAddress, after step: String) throws(PCIDeviceError) {
        let found = currentDriver(of: address)
        guard found == expected else {
            throw .bindingDidNotTakeEffect(address, step: step, expected: expected, found: found)
        }
    }
}
