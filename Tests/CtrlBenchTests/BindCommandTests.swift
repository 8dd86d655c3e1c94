import FakeSysfs
import Testing
@testable import ctrlbench

/// `ctrlbench bind` and `unbind` refusals on a fake sysfs tree: the message names the cause and
/// the fix, the exit status is 1 (64 for an option the command rejects), and the tree is unchanged.
@Suite struct BindCommandTests {
    static let nvme = "0000:01:00.0"

    static func machine(driver: String? = "nvme", drivers: [String] = ["vfio-pci"],
                        neighbour: FakeSysfs.Function? = nil) throws -> FakeSysfs {
        var functions: [FakeSysfs.Function] = [
            .init(address: nvme, vendor: 0x144d, device: 0xa808, classCode: 0x010802, driver: driver, group: 7),
        ]
        if let neighbour { functions.append(neighbour) }
        return try FakeSysfs(functions, drivers: drivers)
    }

    @Test func bindWithoutVFIOPCIExplainsModprobe() throws {
        let tree = try Self.machine(drivers: [])
        let run = Invocation(["bind", Self.nvme, "--sysfs-root", tree.root])
        #expect(run.exitCode == 1)
        #expect(run.text.contains("The vfio-pci driver is not loaded") && run.text.contains("`modprobe vfio-pci`"))
        #expect(tree.driver(of: Self.nvme) == "nvme")
    }

    @Test func bindOfAMalformedOrMissingAddressExitsOne() throws {
        let tree = try Self.machine()
        let malformed = Invocation(["bind", "01:20.0", "--sysfs-root", tree.root])
        #expect(malformed.exitCode == 1 && malformed.text.contains("'01:20.0' is not a PCI address"))
        let missing = Invocation(["bind", "0000:05:00.0", "--sysfs-root", tree.root])
        #expect(missing.exitCode == 1 && missing.text.contains("No PCI function 0000:05:00.0"))
    }

    @Test func bindIntoANonViableGroupNamesTheOffender() throws {
        let tree = try Self.machine(neighbour: .init(address: "0000:01:00.1", vendor: 0x8086, device: 0x10d3,
                                                     classCode: 0x020000, driver: "e1000e", group: 7))
        let run = Invocation(["bind", Self.nvme, "--sysfs-root", tree.root])
        #expect(run.exitCode == 1)
        #expect(run.text.contains("IOMMU group 7 is not viable: 0000:01:00.1 (bound to e1000e)"))
        #expect(tree.driver(of: Self.nvme) == "nvme")
    }

    @Test func bindOfABoundFunctionChangesNothing() throws {
        let tree = try Self.machine(driver: "vfio-pci")
        let run = Invocation(["bind", "01:00.0", "--sysfs-root", tree.root])
        #expect(run.exitCode == 0)
        #expect(run.text == "0000:01:00.0 is already bound to vfio-pci; nothing changed.")
    }

    @Test func bindThatTheKernelIgnoresIsReportedAndRolledBack() throws {
        // A tree is not a kernel: the unbind write changes nothing, which the binder must notice.
        let tree = try Self.machine()
        let run = Invocation(["bind", Self.nvme, "--sysfs-root", tree.root])
        #expect(run.exitCode == 1)
        #expect(run.text.contains("After writing \(tree.root)/bus/pci/drivers/nvme/unbind"))
        #expect(run.text.contains("dmesg"))
        #expect(tree.driver(of: Self.nvme) == "nvme")
    }

    @Test func unbindToVFIOPCIIsAUsageError() throws {
        let tree = try Self.machine(driver: "vfio-pci")
        let run = Invocation(["unbind", Self.nvme, "--driver", "vfio-pci", "--sysfs-root", tree.root])
        #expect(run.exitCode == 64)
        #expect(run.text.contains("--driver vfio-pci names the driver the function is being taken off"))
        #expect(run.text.contains("--driver nvme") && run.text.contains("leave --driver out"))
        #expect(tree.driver(of: Self.nvme) == "vfio-pci")
    }

    @Test func unbindRefusesAFunctionOnAHostDriver() throws {
        let tree = try Self.machine()
        let run = Invocation(["unbind", Self.nvme, "--driver", "nvme", "--sysfs-root", tree.root])
        #expect(run.exitCode == 1)
        #expect(run.text.contains("0000:01:00.0 is bound to nvme, not vfio-pci: refusing to unbind a host driver"))
        #expect(tree.driver(of: Self.nvme) == "nvme")
        // Without --driver, too: an unbound give-back of a host-driven device is the same mistake.
        #expect(Invocation(["unbind", Self.nvme, "--sysfs-root", tree.root]).exitCode == 1)
        #expect(tree.driver(of: Self.nvme) == "nvme")
    }

    @Test func unbindToAnUnloadedDriverSaysWhichModuleToLoad() throws {
        let tree = try Self.machine(driver: "vfio-pci")
        let run = Invocation(["unbind", Self.nvme, "--driver", "nvme", "--sysfs-root", tree.root])
        #expect(run.exitCode == 1)
        #expect(run.text.contains("Cannot give 0000:01:00.0 back to nvme") && run.text.contains("`modprobe nvme`"))
        #expect(tree.driver(of: Self.nvme) == "vfio-pci")
    }

    @Test func unbindOfAMalformedOrMissingAddressExitsOne() throws {
        let tree = try Self.machine()
        #expect(Invocation(["unbind", "0000:01:00", "--sysfs-root", tree.root]).exitCode == 1)
        let missing = Invocation(["unbind", "0000:09:00.0", "--driver", "nvme", "--sysfs-root", tree.root])
        #expect(missing.exitCode == 1 && missing.text.contains("No PCI function 0000:09:00.0"))
    }
}
