import FakeSysfs

/// What the ctrlbench commands' hidden `--sysfs-root` tests need on top of the shared `FakeSysfs`:
/// a machine written from a description of its PCI functions and loaded drivers.
extension FakeSysfs {
    /// One PCI function: its address, IDs, class code, the driver holding it, its IOMMU group and NUMA node.
    struct Function {
        var address: String
        var vendor: UInt16
        var device: UInt16
        var classCode: UInt32
        var driver: String?
        var group: Int?
        var numaNode = -1
    }

    /// A tree with `drivers` loaded (besides the drivers `functions` are bound to) and every function added.
    convenience init(_ functions: [Function], drivers: [String] = ["vfio-pci"]) throws {
        try self.init()
        for driver in drivers { try addDriver(driver) }
        for function in functions {
            try addDevice(function.address, vendor: function.vendor, device: function.device,
                          classCode: function.classCode, driver: function.driver, group: function.group,
                          numaNode: function.numaNode)
        }
    }
}
