import ArgumentParser
import PCIDevice

/// `ctrlbench unbind ADDR --driver PREV`: take a function off vfio-pci and back to its driver.
struct Unbind: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Give a PCI function back from vfio-pci to its previous driver.")

    @Argument(help: "PCI address, dddd:bb:dd.f or bb:dd.f.")
    var address: String

    @Option(help: "The driver to give the function back to (as `bind` printed); omit to leave it unbound.")
    var driver: String?

    @OptionGroup var sysfs: SysfsOptions

    func run() throws {
        let record = BindRecord(address: try PCIAddress(parsing: address), previousDriver: driver)
        try SysfsBinder(sysfsRoot: sysfs.sysfsRoot).giveBack(record)
        print("\(record.address) given back to \(driver ?? "no driver").")
    }
}
