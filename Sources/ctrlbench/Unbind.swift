import ArgumentParser
import PCIDevice

/// `ctrlbench unbind ADDR --driver PREV`: take a function off vfio-pci and back to its driver.
struct Unbind: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Give a PCI function back from vfio-pci to its previous driver.",
        discussion: """
            Only a function bound to vfio-pci is given back: one on any other driver is refused, \
            so a host driver (nvme, or one holding a disk in use) is never unbound by mistake. The \
            previous driver must be loaded; otherwise the function stays on vfio-pci and the error \
            says which module to load. Refusals change nothing and exit with status 1.
            """)

    @Argument(help: "PCI address, dddd:bb:dd.f or bb:dd.f.")
    var address: String

    @Option(help: "The driver to give the function back to (as `bind` printed); omit to leave it unbound.")
    var driver: String?

    @OptionGroup var sysfs: SysfsOptions

    func validate() throws {
        if driver == SysfsBinder.vfioDriver {
            throw ValidationError("--driver vfio-pci names the driver the function is being taken off, so there "
                + "would be nothing to give back. Give the host driver it had before, as `ctrlbench bind` printed "
                + "(e.g. --driver nvme), or leave --driver out to leave it unbound.")
        }
    }

    func run() throws {
        print(try output())
    }

    /// Gives the function back, and returns what `run` prints.
    func output() throws -> String {
        let record = BindRecord(address: try PCIAddress(parsing: address), previousDriver: driver)
        try SysfsBinder(sysfsRoot: sysfs.sysfsRoot).giveBack(record)
        return "\(record.address) given back to \(driver ?? "no driver")."
    }
}
