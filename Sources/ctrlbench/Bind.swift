import ArgumentParser
import PCIDevice

/// `ctrlbench bind ADDR`: hand a function to vfio-pci, after the binder's checks.
struct Bind: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bind a PCI function to vfio-pci (prints the driver to give it back to).",
        discussion: """
            Checks first that the function exists, that it is an NVMe controller (PCI class 010802; \
            --force binds another kind), that its driver does not have it in use (a disk below it \
            mounted, used as swap, or held by device-mapper or md: each is named), that vfio-pci is loaded, the IOMMU is on, every other \
            function in its IOMMU group is unbound, on vfio-pci or pci-stub, or a bridge, and that \
            this user may write driver_override, the current driver's unbind and drivers_probe; \
            a failed check changes nothing and says what to fix (exit status 1).
            """)

    @Argument(help: "PCI address, dddd:bb:dd.f or bb:dd.f.")
    var address: String

    @Flag(help: "Bind a function whose class code is not NVMe's (010802). A function in use is refused all the same.")
    var force = false

    @OptionGroup var sysfs: SysfsOptions

    func run() throws {
        print(try output())
    }

    /// Binds, and returns what `run` prints: what changed and how to give it back.
    func output() throws -> String {
        let record = try sysfs.binder().bindToVFIO(address, force: force)
        if record.wasAlreadyBound {
            return "\(record.address) is already bound to vfio-pci; nothing changed."
        } else if let previous = record.previousDriver {
            return "\(record.address) bound to vfio-pci (was \(previous)). "
                + "Give it back with: ctrlbench unbind \(record.address) --driver \(previous)"
        } else {
            return "\(record.address) bound to vfio-pci (was unbound). "
                + "Give it back with: ctrlbench unbind \(record.address)"
        }
    }
}
