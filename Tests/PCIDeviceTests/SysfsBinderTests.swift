import FakeSysfs
import Foundation
import Testing
@testable import PCIDevice

/// A machine where binding `BinderFixture.nvme` should work: vfio-pci loaded, IOMMU on, the
/// device alone in group 7 on the nvme driver.
enum BinderFixture {
    static let nvme = "0000:01:00.0"

    static func readyTree() throws -> FakeSysfs {
        let fake = try FakeSysfs()
        try fake.loadVFIO()
        try fake.addDevice(nvme, driver: "nvme", group: 7)
        return fake
    }

    static func binder(_ fake: FakeSysfs, log: WriteLog? = nil,
                       refuse: @escaping @Sendable (String) -> Bool = { _ in false }) -> SysfsBinder {
        SysfsBinder(sysfsRoot: fake.root,
                    writer: fake.kernelWriter(nativeDrivers: [nvme: "nvme"], refuse: refuse, log: log))
    }
}

/// Bind and give back against a fake sysfs tree that behaves like the kernel, and the kernel
/// not doing what was asked.
@Suite struct SysfsBinderTests {
    let nvme = BinderFixture.nvme
    func readyTree() throws -> FakeSysfs { try BinderFixture.readyTree() }
    func binder(_ fake: FakeSysfs, log: WriteLog? = nil,
                refuse: @escaping @Sendable (String) -> Bool = { _ in false }) -> SysfsBinder {
        BinderFixture.binder(fake, log: log, refuse: refuse)
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
        // The previous driver is bound directly: a re-probe could hand the device to another driver.
        #expect(log.writes.suffix(3).map(\.path) == [
            fake.busPCI + "/devices/\(nvme)/driver_override",
            fake.busPCI + "/drivers/vfio-pci/unbind",
            fake.busPCI + "/drivers/nvme/bind",
        ])
    }

    @Test func giveBackBindsThePreviousDriverEvenWhenProbingWouldChooseAnother() throws {
        let fake = try readyTree()
        let record = try binder(fake).bindToVFIO(nvme)
        let log = WriteLog()
        let other = SysfsBinder(sysfsRoot: fake.root,
                                writer: fake.kernelWriter(nativeDrivers: [nvme: "other-nvme"], log: log))
        try other.giveBack(record)
        #expect(fake.driver(of: nvme) == "nvme")
        #expect(!log.writes.contains { $0.path.hasSuffix("/drivers_probe") })
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

    @Test func vfioNotClaimingIsDetectedAndNVMeRestored() throws {
        let fake = try readyTree()
        let log = WriteLog()
        let b = binder(fake, log: log, refuse: { $0.hasSuffix("/drivers_probe") })
        let error = #expect(throws: PCIDeviceError.self) { try b.bindToVFIO(nvme) }
        #expect(error == .bindingDidNotTakeEffect(try PCIAddress(parsing: nvme), step: fake.busPCI + "/drivers_probe",
                                                  expected: "vfio-pci", found: nil))
        // The rollback put the device back on nvme, through nvme's bind file, with the override cleared.
        #expect(fake.driver(of: nvme) == "nvme")
        #expect(fake.driverOverride(of: nvme) == "\n")
        #expect(log.writes.last?.path == fake.busPCI + "/drivers/nvme/bind")
    }

    @Test func rollbackWhenThePreviousDriverVanishedReportsTheFirstError() throws {
        let fake = try readyTree()
        let nvmeDriver = fake.busPCI + "/drivers/nvme"
        // The probe is ignored and the nvme module goes away meanwhile (rmmod in another shell).
        let b = binder(fake, refuse: { path in
            guard path.hasSuffix("/drivers_probe") else { return false }
            try? FileManager.default.removeItem(atPath: nvmeDriver)
            return true
        })
        let error = #expect(throws: PCIDeviceError.self) { try b.bindToVFIO(nvme) }
        #expect(error == .bindingDidNotTakeEffect(try PCIAddress(parsing: nvme), step: fake.busPCI + "/drivers_probe",
                                                  expected: "vfio-pci", found: nil))
        #expect(fake.driver(of: nvme) == nil)
        #expect(fake.driverOverride(of: nvme) == "\n", "the override is cleared, so loading nvme will bind it")
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

    @Test func theFakeKernelRefusesBindingAHeldDevice() throws {
        // What the binder must never rely on: a real kernel answers EBUSY to a bind while another
        // driver holds the device, and ENODEV to an unbind from a driver that does not.
        let fake = try readyTree()
        let writer = fake.kernelWriter()
        let bind = fake.busPCI + "/drivers/vfio-pci/bind"
        #expect(throws: PCIDeviceError.sysfsIOFailed(path: bind, errno: EBUSY)) { try writer.write(bind, nvme) }
        let unbind = fake.busPCI + "/drivers/vfio-pci/unbind"
        #expect(throws: PCIDeviceError.sysfsIOFailed(path: unbind, errno: ENODEV)) { try writer.write(unbind, nvme) }
        #expect(fake.driver(of: nvme) == "nvme")
    }

    @Test func bindRecordRoundTripsThroughJSON() throws {
        let record = BindRecord(address: try PCIAddress(parsing: "01:00.0"), previousDriver: "nvme")
        let data = try JSONEncoder().encode(record)
        #expect(String(decoding: data, as: UTF8.self).contains("\"0000:01:00.0\""))
        #expect(try JSONDecoder().decode(BindRecord.self, from: data) == record)
    }

    @Test func checkBindableReportsTheGroup() throws {
        let fake = try readyTree()
        #expect(try binder(fake).checkBindable(PCIAddress(parsing: nvme)) == 7)
        #expect(binder(fake).iommuGroup(of: try PCIAddress(parsing: nvme)) == 7)
        #expect(binder(fake).currentDriver(of: try PCIAddress(parsing: nvme)) == "nvme")
    }
}
