import FakeSysfs
import Foundation
import Testing
@testable import PCIDevice

@Suite(.serialized) struct PCIDiscoveryTests {
    /// Reads a hex attribute of a real sysfs device independently of libpci.
    func sysfsHex(_ address: String, _ attribute: String) throws -> UInt32 {
        let text = try String(contentsOfFile: "/sys/bus/pci/devices/\(address)/\(attribute)", encoding: .utf8)
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return try #require(UInt32(trimmed.dropFirst(2), radix: 16), "\(attribute) of \(address): \(trimmed)")
    }

    @Test func realBusMatchesSysfs() throws {
        let expected = try FileManager.default.contentsOfDirectory(atPath: "/sys/bus/pci/devices").sorted()
        try #require(!expected.isEmpty, "this machine lists no PCI functions in sysfs")
        let functions = try PCIDiscovery().scan()
        #expect(functions.map(\.address.description) == expected)
        for function in functions {
            let name = function.address.description
            #expect(UInt32(function.vendorID) == (try sysfsHex(name, "vendor")), "\(name)")
            #expect(UInt32(function.deviceID) == (try sysfsHex(name, "device")), "\(name)")
            #expect(function.classCode == (try sysfsHex(name, "class")), "\(name)")
            let driverLink = "/sys/bus/pci/devices/\(name)/driver"
            let driver = (try? FileManager.default.destinationOfSymbolicLink(atPath: driverLink))
                .map { URL(fileURLWithPath: $0).lastPathComponent }
            #expect(function.driver == driver, "\(name)")
        }
    }

    /// Class codes from the PCI Code and ID Assignment Specification: only base class 01h (mass
    /// storage), subclass 08h (non-volatile memory), programming interface 02h (NVM Express I/O
    /// controller) is one this driver can run; 01 08 00 is NVMHCI, 01 08 01 Enterprise NVMHCI and
    /// 01 08 03 an NVMe administrative controller without I/O queues.
    @Test(arguments: [
        (UInt32(0x010802), true), (0x010801, false), (0x010800, false), (0x010803, false), (0x010601, false),
        (0x018002, false), (0x020802, false), (0x060400, false), (0x000000, false),
    ])
    func onlyClass010802IsAnNVMeController(classCode: UInt32, isNVMe: Bool) throws {
        let fake = try FakeSysfs()
        try fake.addDevice("0000:03:00.0", classCode: classCode)
        let function = try #require(try PCIDiscovery(sysfsBusPCI: fake.busPCI).scan().first)
        #expect(function.classCode == classCode)
        #expect(function.isNVMeController == isNVMe)
        #expect(function.baseClass == UInt8(classCode >> 16) && function.subclass == UInt8(classCode >> 8 & 0xFF))
        #expect(function.programmingInterface == UInt8(classCode & 0xFF))
    }

    @Test func fakeTreeGivesFakeDevices() throws {
        let fake = try FakeSysfs()
        try fake.addDevice("0000:01:00.0", vendor: 0x144d, device: 0xa808, classCode: 0x010802,
                           driver: "nvme", group: 12, numaNode: 1)
        try fake.addDevice("0000:00:1f.2", vendor: 0x8086, device: 0x2922, classCode: 0x010601)
        let functions = try PCIDiscovery(sysfsBusPCI: fake.busPCI).scan()
        #expect(functions.count == 2)
        let ahci = try #require(functions.first)
        #expect(ahci.address.description == "0000:00:1f.2")
        #expect(ahci.vendorID == 0x8086 && ahci.deviceID == 0x2922 && ahci.classCode == 0x010601)
        #expect(ahci.driver == nil && ahci.iommuGroup == nil && ahci.numaNode == nil)
        #expect(!ahci.isNVMeController)
        let nvme = try #require(functions.last)
        #expect(nvme.address.description == "0000:01:00.0")
        #expect(nvme.vendorID == 0x144d && nvme.deviceID == 0xa808 && nvme.classCode == 0x010802)
        #expect(nvme.isNVMeController)
        #expect(nvme.driver == "nvme")
        #expect(nvme.iommuGroup == 12)
        #expect(nvme.numaNode == 1)
        #expect(try PCIDiscovery(sysfsBusPCI: fake.busPCI).function(at: PCIAddress(parsing: "01:00.0")) == nvme)
    }

    @Test func missingTreeIsAClearError() {
        let error = #expect(throws: PCIDeviceError.self) {
            try PCIDiscovery(sysfsBusPCI: "/nonexistent/bus/pci").scan()
        }
        #expect(error?.description.contains("/nonexistent/bus/pci/devices") == true)
    }

    @Test func brokenTreeIsAClearErrorNotAnExit() throws {
        // A device entry without its vendor file makes libpci call its error handler, which by
        // default exits the process; ours must turn it into a thrown error.
        let fake = try FakeSysfs()
        try fake.addDevice("0000:01:00.0")
        try FileManager.default.removeItem(atPath: fake.busPCI + "/devices/0000:01:00.0/vendor")
        let error = #expect(throws: PCIDeviceError.self) { try PCIDiscovery(sysfsBusPCI: fake.busPCI).scan() }
        #expect(error?.description.contains("libpci") == true)
        // And libpci still works afterwards.
        #expect(try !PCIDiscovery().scan().isEmpty)
    }

    @Test func unknownAddressIsNotFound() throws {
        let fake = try FakeSysfs()
        let error = #expect(throws: PCIDeviceError.self) {
            try PCIDiscovery(sysfsBusPCI: fake.busPCI).function(at: PCIAddress(parsing: "0000:05:00.0"))
        }
        #expect(error == .deviceNotFound(try PCIAddress(parsing: "0000:05:00.0"), sysfsDevices: fake.busPCI + "/devices"))
    }

    @Test func concurrentScansAreSerialisedAndAgree() async throws {
        // libpci and the error-containment shim share process-wide state; the lock must keep
        // concurrent scans (including failing ones) from corrupting each other.
        let fake = try FakeSysfs()
        try fake.addDevice("0000:01:00.0", driver: "nvme", group: 1)
        let broken = try FakeSysfs()
        try broken.addDevice("0000:02:00.0")
        try FileManager.default.removeItem(atPath: broken.busPCI + "/devices/0000:02:00.0/class")
        let reference = try PCIDiscovery().scan()
        let fakePath = fake.busPCI, brokenPath = broken.busPCI
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<24 {
                group.addTask {
                    switch index % 3 {
                    case 0: return (try? PCIDiscovery().scan()) == reference
                    case 1: return (try? PCIDiscovery(sysfsBusPCI: fakePath).scan())?.map(\.driver) == ["nvme"]
                    default: return (try? PCIDiscovery(sysfsBusPCI: brokenPath).scan()) == nil
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.count == 24)
        #expect(outcomes.allSatisfy { $0 })
    }
}
