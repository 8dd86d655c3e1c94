import Foundation
import Testing
@testable import PCIDevice

/// Bind/give-back against a fake sysfs tree, and every refusal.
@Suite struct SysfsBinderTests {
    let nvme = "0000:01:00.0"

    /// A machine where binding `nvme` should work: vfio-pci loaded, IOMMU on, the device alone in group 7.
    func readyTree() throws -> FakeSysfs {
        let fake = try FakeSysfs()
        try fake.loadVFIO()
        try fake.addDevice(nvme, driver: "nvme", group: 7)
        return fake
    }

    func binder(_ fake: FakeSysfs, log: WriteLog? = nil,
                refuse: @escaping @Sendable (String) -> Bool = { _ in false }) -> SysfsBinder {
        SysfsBinder(sysfsRoot: fake.root,
                    writer: fake.kernelWriter(nativeDrivers: [nvme: "nvme"], refuse: refuse, log: log))
    }

    @Test func bindsThenGivesBack() throws {
        let fake = try readyTree()
        let log = WriteLog()
        let b = binder(fake, log: log)
        let record = try b.bindToVFIO(nvme)
        #expect(record.previousDriver == "nvme")
        #expect(!record.wasAlreadyBound)
        #expect(fake.driver(of: nvme) == "vfio-pci")
        #expect(log.writes.map(\.path) == [
            fake.busPCI + "/devices/\(nvme)/driver_override",
            fake.busPCI + "/drivers/nvme/unbind",
            fake.busPCI + "/drivers_probe",
        ])
        #expect(log.writes.map(\.value) == ["vfio-pci", nvme, nvme])

        try b.giveBack(record)
        #expect(fake.driver(of: nvme) == "nvme")
        #expect(fake.driverOverride(of: nvme) == "\n")
        #expect(log.writes.suffix(3).map(\.path) == [
            fake.busPCI + "/devices/\(nvme)/driver_override",
            fake.busPCI + "/drivers/vfio-pci/unbind",
            fake.busPCI + "/drivers_probe",
        ])
    }

    @Test func givesBackByExplicitBindWhenProbeChoosesNothing() throws {
        let fake = try readyTree()
        // No native driver for probing: the binder must fall back to drivers/nvme/bind.
        let b = SysfsBinder(sysfsRoot: fake.root, writer: fake.kernelWriter())
        let record = try b.bindToVFIO(nvme)
        try b.giveBack(record)
        #expect(fake.driver(of: nvme) == "nvme")
    }

    @Test func bindsAnUnboundDeviceWithoutUnbinding() throws {
        let fake = try FakeSysfs()
        try fake.loadVFIO()
        try fake.addDevice(nvme, group: 3)
        let log = WriteLog()
        let record = try binder(fake, log: log).bindToVFIO(nvme)
        #expect(record.previousDriver == nil)
        #expect(fake.driver(of: nvme) == "vfio-pci")
        #expect(log.writes.count == 2)
        try binder(fake).giveBack(record)
        #expect(fake.driver(of: nvme) == nil)
    }

    @Test func alreadyBoundIsANoOp() throws {
        let fake = try FakeSysfs()
        try fake.loadVFIO()
        try fake.addDevice(nvme, driver: "vfio-pci", group: 7)
        let log = WriteLog()
        let record = try binder(fake, log: log).bindToVFIO(nvme)
        #expect(record.wasAlreadyBound)
        #expect(log.writes.isEmpty)
        try binder(fake, log: log).giveBack(record)
        #expect(log.writes.isEmpty)
        #expect(fake.driver(of: nvme) == "vfio-pci")
    }

    @Test func refusesMalformedAddress() throws {
        let fake = try readyTree()
        #expect(throws: PCIDeviceError.self) { try binder(fake).bindToVFIO("0000:01:00") }
        do {
            _ = try binder(fake).bindToVFIO("01:20.0")
            Issue.record("expected a malformed-address error")
        } catch {
            #expect(error.description.contains("dddd:bb:dd.f"))
            #expect(error.description.contains("device"))
        }
    }

    @Test func refusesMissingDevice() throws {
        let fake = try readyTree()
        let error = #expect(throws: PCIDeviceError.self) { try binder(fake).bindToVFIO("0000:02:00.0") }
        #expect(error?.description.contains("No PCI function 0000:02:00.0") == true)
        #expect(error?.description.contains(fake.busPCI + "/devices") == true)
    }

    @Test func refusesWhenVFIOPCINotLoaded() throws {
        let fake = try FakeSysfs()
        try fake.addDevice(nvme, driver: "nvme", group: 7)
        let error = #expect(throws: PCIDeviceError.self) { try binder(fake).bindToVFIO(nvme) }
        #expect(error?.description.contains("modprobe vfio-pci") == true)
        #expect(fake.driver(of: nvme) == "nvme")
    }

    @Test func refusesWithoutIOMMUGroups() throws {
        let fake = try FakeSysfs()
        try fake.loadVFIO()
        try fake.addDevice(nvme, driver: "nvme")
        let error = #expect(throws: PCIDeviceError.self) { try binder(fake).bindToVFIO(nvme) }
        #expect(error == .noIOMMUGroups(directory: fake.root + "/kernel/iommu_groups"))
        let text = error?.description ?? ""
        #expect(text.contains("intel_iommu=on") && text.contains("amd_iommu=on") && text.contains("iommu=pt"))
        #expect(text.contains("VT-d") && text.contains("AMD-Vi"))

        // The groups directory missing altogether is the same refusal.
        try FileManager.default.removeItem(atPath: fake.root + "/kernel")
        #expect(throws: PCIDeviceError.noIOMMUGroups(directory: fake.root + "/kernel/iommu_groups")) {
            try binder(fake).bindToVFIO(nvme)
        }
    }

    @Test func refusesDeviceWithoutGroupLink() throws {
        let fake = try readyTree()
        try fake.addDevice("0000:02:00.0", driver: "nvme")
        let error = #expect(throws: PCIDeviceError.self) { try binder(fake).bindToVFIO("0000:02:00.0") }
        #expect(error == .deviceHasNoIOMMUGroup(try PCIAddress(parsing: "0000:02:00.0")))
        #expect(error?.description.contains("intel_iommu=on") == true)
    }

    @Test func refusesNonViableGroupNamingEachOffender() throws {
        let fake = try readyTree()
        try fake.addDevice("0000:01:00.1", classCode: 0x020000, driver: "e1000e", group: 7)
        try fake.addDevice("0000:01:00.2", classCode: 0x0c0330, driver: "xhci_hcd", group: 7)
        try fake.addDevice("0000:00:01.0", classCode: 0x060400, driver: "pcieport", group: 7)
        try fake.addDevice("0000:01:00.3", group: 7) // unbound: fine
        try fake.addDevice("0000:01:00.4", driver: "vfio-pci", group: 7) // fine
        let error = #expect(throws: PCIDeviceError.self) { try binder(fake).bindToVFIO(nvme) }
        guard case let .groupNotViable(group, offenders) = error else {
            Issue.record("expected groupNotViable, got \(String(describing: error))")
            return
        }
        #expect(group == 7)
        #expect(offenders == [.init(address: "0000:01:00.1", driver: "e1000e"),
                              .init(address: "0000:01:00.2", driver: "xhci_hcd")])
        let text = error?.description ?? ""
        #expect(text.contains("0000:01:00.1 (bound to e1000e)") && text.contains("0000:01:00.2 (bound to xhci_hcd)"))
        #expect(fake.driver(of: nvme) == "nvme")
    }

    @Test func permissionDeniedNamesTheFileAndChangesNothing() throws {
        let fake = try readyTree()
        let overridePath = fake.busPCI + "/devices/\(nvme)/driver_override"
        let denying = SysfsWriter { path, value throws(PCIDeviceError) in
            if path == overridePath { throw .permissionDenied(path: path) }
            try fake.kernelWriter().write(path, value)
        }
        let error = #expect(throws: PCIDeviceError.self) {
            try SysfsBinder(sysfsRoot: fake.root, writer: denying).bindToVFIO(nvme)
        }
        #expect(error == .permissionDenied(path: overridePath))
        #expect(error?.description.contains(overridePath) == true)
        #expect(error?.description.contains("root") == true)
        #expect(fake.driver(of: nvme) == "nvme")
    }

    @Test func realWriterMapsAccessErrorsToPermissionDenied() throws {
        // Root ignores file modes in a temporary folder; sysfs enforces a read-only binary attribute's
        // mode even for root, so opening it for writing gives the real EACCES.
        let path = "/sys/kernel/notes"
        let error = #expect(throws: PCIDeviceError.self) { try SysfsWriter.kernel.write(path, "x") }
        #expect(error == .permissionDenied(path: path))
        let missing = #expect(throws: PCIDeviceError.self) {
            try SysfsWriter.kernel.write("/nonexistent-dir/driver_override", "x")
        }
        #expect(missing == .sysfsIOFailed(path: "/nonexistent-dir/driver_override", errno: ENOENT))
    }

    @Test func kernelIgnoringUnbindIsDetectedAndRolledBack() throws {
        let fake = try readyTree()
        let b = binder(fake, refuse: { $0.hasSuffix("/drivers/nvme/unbind") })
        let error = #expect(throws: PCIDeviceError.self) { try b.bindToVFIO(nvme) }
        #expect(error == .bindingDidNotTakeEffect(try PCIAddress(parsing: nvme), step: fake.busPCI + "/drivers/nvme/unbind",
                                                  expected: nil, found: "nvme"))
        #expect(error?.description.contains("dmesg") == true)
        #expect(fake.driver(of: nvme) == "nvme")
        #expect(fake.driverOverride(of: nvme) == "\n")
    }

    @Test func vfioNotClaimingIsDetected() throws {
        let fake = try readyTree()
        let b = binder(fake, refuse: { $0.hasSuffix("/drivers_probe") })
        let error = #expect(throws: PCIDeviceError.self) { try b.bindToVFIO(nvme) }
        #expect(error == .bindingDidNotTakeEffect(try PCIAddress(parsing: nvme), step: fake.busPCI + "/drivers_probe",
                                                  expected: "vfio-pci", found: nil))
    }

    @Test func giveBackOfMissingDeviceFails() throws {
        let fake = try readyTree()
        let record = BindRecord(address: try PCIAddress(parsing: "0000:09:00.0"), previousDriver: "nvme")
        #expect(throws: PCIDeviceError.self) { try binder(fake).giveBack(record) }
    }

    @Test func bindRecordRoundTripsThroughJSON() throws {
        let record = BindRecord(address: try PCIAddress(parsing: "01:00.0"), previousDriver: "nvme")
        let data = try JSONEncoder().encode(record)
        #expect(String(decoding: data, as: UTF8.self).contains("\"0000:01:00.0\""))
        #expect(try JSONDecoder().decode(BindRecord.self, from: data) == record)
    }

    @Test func unresponsiveKernelIsDetectedAndLeavesTheDeviceAlone() throws {
        // The plain writer on a fake tree: files change, the "kernel" never reacts.
        let fake = try readyTree()
        let error = #expect(throws: PCIDeviceError.self) {
            try SysfsBinder(sysfsRoot: fake.root, writer: .kernel).bindToVFIO(nvme)
        }
        #expect(error == .bindingDidNotTakeEffect(try PCIAddress(parsing: nvme),
                                                  step: fake.busPCI + "/drivers/nvme/unbind",
                                                  expected: nil, found: "nvme"))
        #expect(error?.description.contains(fake.busPCI + "/drivers/nvme/unbind") == true)
        #expect(fake.driver(of: nvme) == "nvme")
        #expect(fake.driverOverride(of: nvme) == "\n")
    }

    @Test func giveBackDetectsVFIONotLettingGo() throws {
        let fake = try readyTree()
        let record = try binder(fake).bindToVFIO(nvme)
        let stubborn = binder(fake, refuse: { $0.hasSuffix("/drivers/vfio-pci/unbind") })
        let error = #expect(throws: PCIDeviceError.self) { try stubborn.giveBack(record) }
        #expect(error == .bindingDidNotTakeEffect(try PCIAddress(parsing: nvme),
                                                  step: fake.busPCI + "/drivers/vfio-pci/unbind",
                                                  expected: nil, found: "vfio-pci"))
    }

    @Test func giveBackBindsExplicitlyWhenProbeChoosesAnotherDriver() throws {
        let fake = try readyTree()
        let record = try binder(fake).bindToVFIO(nvme)
        let log = WriteLog()
        let other = SysfsBinder(sysfsRoot: fake.root,
                                writer: fake.kernelWriter(nativeDrivers: [nvme: "other-nvme"], log: log))
        try other.giveBack(record)
        #expect(fake.driver(of: nvme) == "nvme")
        #expect(log.writes.last?.path == fake.busPCI + "/drivers/nvme/bind")
    }

    @Test func checkBindableReportsTheGroup() throws {
        let fake = try readyTree()
        #expect(try binder(fake).checkBindable(PCIAddress(parsing: nvme)) == 7)
        #expect(binder(fake).iommuGroup(of: try PCIAddress(parsing: nvme)) == 7)
        #expect(binder(fake).currentDriver(of: try PCIAddress(parsing: nvme)) == "nvme")
    }
}
