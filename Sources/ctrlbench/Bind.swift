import ArgumentParser
import PCIDevice

/// `ctrlbench bind ADDR`: hand a function to vfio-pci, after the binder's checks.
struct Bind: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bind a PCI function to vfio-pci (prints the driver to give it back to).")

    @Argument(help: "PCI address, dddd:bb:dd.f or bb:dd.f.")
    var address: String

    @OptionGroup var sysfs: SysfsOptions

    func run() throws {
        let record = try SysfsBinder(sysfsRoot: sysfs.sysfsRoot).bindToVFIO(address)
        if record.wasAlreadyBound {
            print("\(record.address) is already bound to vfio-pci; nothing changed.")
        } else if let previous = record.previousDriver {
            print("\(record.address) bound to vfio-pci (was \(previous)). "
                + "Give it back with: ctrlbench unbind \(record.address) --driver \(previous)")
        } else {
            print("\(record.address) bound to vfio-pci (was unbound). "
                + "Give it back with: ctrlbench unbind \(record.address)")
        }
    }
}
