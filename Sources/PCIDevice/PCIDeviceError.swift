import HexFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Everything that can go wrong while finding, binding or opening a PCI function.
///
/// Each description names the cause and the fix, because the person reading it is usually at a
/// shell prompt setting up a machine, and "operation failed" tells them nothing.
public enum PCIDeviceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A PCI address string did not parse; `reason` says which part is wrong.
    case malformedAddress(String, reason: String)
    /// No such function under `<sysfs>/bus/pci/devices`.
    case deviceNotFound(PCIAddress, sysfsDevices: String)
    /// The vfio-pci driver is not registered with the PCI bus.
    case vfioPCINotLoaded(driversDirectory: String)
    /// The kernel exposes no IOMMU groups at all (IOMMU disabled or absent).
    case noIOMMUGroups(directory: String)
    /// This function has no `iommu_group` link although other groups exist.
    case deviceHasNoIOMMUGroup(PCIAddress)
    /// Other functions in the same IOMMU group are bound to host drivers.
    case groupNotViable(group: Int, offenders: [GroupMember])
    /// A file could not be opened or written for lack of permission.
    case permissionDenied(path: String)
    /// A sysfs write or read failed for another reason.
    case sysfsIOFailed(path: String, errno: Int32)
    /// A sysfs write was accepted but the kernel did not do what it should have.
    /// `step` is the sysfs file last written.
    case bindingDidNotTakeEffect(PCIAddress, step: String, expected: String?, found: String?)
    /// libpci could not scan the bus.
    case discoveryFailed(String)
    /// `/dev/vfio/vfio` (or a group file) does not exist.
    case vfioUnavailable(path: String)
    /// A VFIO ioctl failed.
    case vfioCallFailed(call: String, errno: Int32)
    /// The kernel's VFIO API differs from the one this code was written against.
    case vfioAPIMismatch(found: Int32, expected: Int32)
    /// The container does not offer the type1 v2 IOMMU.
    case vfioType1v2Unsupported
    /// The group has devices bound to host drivers, as seen through VFIO.
    case vfioGroupNotViable(group: Int)
    /// A device region (BAR, config space) is missing or unusable.
    case regionUnavailable(String)
    /// The device does not support VFIO_DEVICE_RESET.
    case resetUnsupported(String)
    /// Giving back was asked for a function that is not on vfio-pci; `driver` is the one it is on.
    case notBoundToVFIO(PCIAddress, driver: String?)
    /// The driver to give a function back to is not registered (its directory is missing).
    case previousDriverNotLoaded(PCIAddress, driver: String, directory: String)
    /// Binding was asked for a function whose class code is not NVMe's (01 08 02), without force;
    /// `classCode` is nil when the `class` attribute could not be read.
    case notNVMe(PCIAddress, classCode: UInt32?, driver: String?)
    /// The function's current driver has it in use: each of `users` names a block device below it
    /// and what uses it (a mount, swap, a holder such as device-mapper).
    case functionInUse(PCIAddress, driver: String, users: [String])
    /// Opening through VFIO was asked for a function that is not bound to vfio-pci.
    case notOnVFIO(PCIAddress, driver: String?)

    /// One function in an IOMMU group and the driver it is bound to.
    public struct GroupMember: Sendable, Hashable, CustomStringConvertible {
        /// The function's address as sysfs names it (`0000:01:00.1`).
        public var address: String
        /// The kernel driver bound to it.
        public var driver: String
        /// A member as `checkBindable` reports it.
        public init(address: String, driver: String) {
            self.address = address
            self.driver = driver
        }
        /// `address (bound to driver)`.
        public var description: String { "\(address) (bound to \(driver))" }
    }

    /// The cause and the fix, in words for the person at the shell prompt.
    public var description: String {
        switch self {
        case let .malformedAddress(text, reason):
            return "'\(text)' is not a PCI address: \(reason). Expected dddd:bb:dd.f or bb:dd.f in hex, "
                + "e.g. 0000:01:00.0 (bus 00-ff, device 00-1f, function 0-7)."
        case let .deviceNotFound(address, devices):
            return "No PCI function \(address) under \(devices). Run `ctrlbench list` (or lspci -D) "
                + "to see the addresses on this machine."
        case let .vfioPCINotLoaded(dir):
            return "The vfio-pci driver is not loaded (\(dir) does not exist). Load it with "
                + "`modprobe vfio-pci` (as root)."
        case let .noIOMMUGroups(dir):
            return "No IOMMU groups (\(dir) is empty or missing): the IOMMU is off. Enable VT-d (Intel) "
                + "or AMD-Vi (AMD) in the firmware setup, add intel_iommu=on or amd_iommu=on, plus iommu=pt, "
                + "to the kernel command line, and reboot."
        case let .deviceHasNoIOMMUGroup(address):
            return "\(address) has no iommu_group link, so VFIO cannot isolate it. Enable the IOMMU "
                + "(VT-d/AMD-Vi in firmware; intel_iommu=on or amd_iommu=on iommu=pt on the kernel command line)."
        case let .groupNotViable(group, offenders):
            let list = offenders.map(\.description).joined(separator: ", ")
            return "IOMMU group \(group) is not viable: \(list). Every device in the group must be unbound "
                + "or bound to vfio-pci; unbind or bind those first (or move the card to another slot)."
        case let .permissionDenied(path):
            return "Permission denied writing or opening \(path). Run as root, or grant this user access "
                + "to that file."
        case let .sysfsIOFailed(path, code):
            return "Could not access \(path): \(errnoText(code)). Check that sysfs is mounted and the "
                + "device still exists."
        case let .bindingDidNotTakeEffect(address, step, expected, found):
            return "After writing \(step), the kernel did not bind \(address) as requested: expected driver "
                + "\(expected ?? "none"), found \(found ?? "none"). Check `dmesg` for the driver's complaint."
        case let .discoveryFailed(message):
            return "PCI discovery through libpci failed: \(message). Check that sysfs is mounted at /sys "
                + "(or that the given sysfs path holds bus/pci/devices)."
        case let .vfioUnavailable(path):
            return "\(path) does not exist. Load the driver with `modprobe vfio-pci`, check that the IOMMU "
                + "is enabled (VT-d/AMD-Vi in firmware, intel_iommu=on or amd_iommu=on), and bind the device "
                + "with `ctrlbench bind`."
        case let .vfioCallFailed(call, code):
            return "\(call) failed: \(errnoText(code)). Check `dmesg`; the device may be in use by another "
                + "process or not bound to vfio-pci."
        case let .vfioAPIMismatch(found, expected):
            return "VFIO API version \(found) does not match the expected \(expected). Use a kernel whose "
                + "VFIO matches (any Linux since 3.6 reports \(expected))."
        case .vfioType1v2Unsupported:
            return "The VFIO container does not support the type1 v2 IOMMU. Enable the IOMMU "
                + "(intel_iommu=on / amd_iommu=on) and load vfio_iommu_type1."
        case let .vfioGroupNotViable(group):
            return "VFIO group \(group) is not viable: some device in it is bound to a host driver. "
                + "Bind every device of /sys/kernel/iommu_groups/\(group)/devices to vfio-pci or unbind it."
        case let .regionUnavailable(what):
            return "Device region unavailable: \(what). The device must be a PCI function bound to vfio-pci."
        case let .resetUnsupported(name):
            return "\(name) does not support VFIO_DEVICE_RESET (no FLR or other reset method). Reset the "
                + "controller through its own registers (CC.EN = 0) instead."
        case let .notBoundToVFIO(address, driver?):
            return "\(address) is bound to \(driver), not vfio-pci: refusing to unbind a host driver. Only a "
                + "function on vfio-pci can be given back; \(address) already has its driver, so there is nothing to do."
        case let .notBoundToVFIO(address, nil):
            return "\(address) is bound to no driver, not vfio-pci, so there is nothing to give back. To hand it "
                + "to a host driver, load the driver (e.g. `modprobe nvme`) or write \(address) to that driver's bind file."
        case let .previousDriverNotLoaded(address, driver, directory):
            return "Cannot give \(address) back to \(driver): \(directory) does not exist, so the driver is not "
                + "loaded. Load it with `modprobe \(driver)` and run the give-back again (or give no driver to "
                + "leave \(address) unbound); \(address) stays on vfio-pci until then."
        case let .notNVMe(address, classCode?, driver):
            return "\(address) is not an NVMe controller: its class code is \(hexDigits(classCode, width: 6)) "
                + "(\(PCIClassName.of(classCode))), not 010802 (NVM Express). Binding it would take it from "
                + "\(driver ?? "no driver") and hand it to vfio-pci. Check the address with `ctrlbench list --nvme-only`; "
                + "to hand a non-NVMe function to vfio-pci on purpose, add --force."
        case let .notNVMe(address, nil, _):
            return "\(address) has no readable class code, so it cannot be confirmed to be an NVMe controller "
                + "(class 010802). Check the address with `ctrlbench list --nvme-only`, or add --force to bind it anyway."
        case let .functionInUse(address, driver, users):
            return "\(address) is in use through \(driver): \(users.joined(separator: "; ")). Unbinding \(driver) "
                + "would pull these from under their users. Unmount the file systems, swapoff, and remove what holds "
                + "the disks (dmsetup remove, mdadm --stop), then bind again."
        case let .notOnVFIO(address, driver):
            return "\(address) is \(driver.map { "bound to \($0)" } ?? "bound to no driver"), not vfio-pci, so it "
                + "cannot be opened through VFIO. Hand it to vfio-pci first: ctrlbench bind \(address)"
        }
    }
}

/// The text of an errno value, with its number for searching.
func errnoText(_ code: Int32) -> String {
    let text = String(cString: strerror(code))
    return "\(text) (errno \(code))"
}
