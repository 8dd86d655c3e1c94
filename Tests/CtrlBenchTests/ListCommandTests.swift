import FakeSysfs
import Foundation
import Testing
@testable import ctrlbench

/// `ctrlbench list` on a fake sysfs tree: the table, the JSON read back, and --nvme-only.
@Suite struct ListCommandTests {
    /// An AHCI controller, an NVMe drive on nvme and one unbound, and a root port.
    static func machine() throws -> FakeSysfs {
        try FakeSysfs([
            .init(address: "0000:00:1f.2", vendor: 0x8086, device: 0x2922, classCode: 0x010601, driver: "ahci", group: 3),
            .init(address: "0000:01:00.0", vendor: 0x144d, device: 0xa808, classCode: 0x010802, driver: "nvme",
                  group: 12, numaNode: 1),
            .init(address: "0000:00:1c.0", vendor: 0x8086, device: 0xa110, classCode: 0x060400, driver: "pcieport", group: 12),
            .init(address: "0001:02:00.0", vendor: 0x1b36, device: 0x0010, classCode: 0x010802, numaNode: 0),
        ])
    }

    @Test func tableListsEveryFunctionInAddressOrderWithNVMeMarked() throws {
        let tree = try Self.machine()
        let run = Invocation(["list", "--sysfs-root", tree.root])
        #expect(run.exitCode == 0)
        #expect(run.text.split(separator: "\n", omittingEmptySubsequences: false) == [
            "ADDRESS       VENDOR:DEVICE  CLASS   DRIVER    IOMMU  NUMA  NVME",
            "0000:00:1c.0  8086:a110      060400  pcieport  12     -",
            "0000:00:1f.2  8086:2922      010601  ahci      3      -",
            "0000:01:00.0  144d:a808      010802  nvme      12     1     *",
            "0001:02:00.0  1b36:0010      010802  -         -      0     *",
            "4 function(s), 2 NVMe controller(s) (marked *)",
        ])
    }

    @Test func jsonReadsBackWithEveryKeyOnEveryObject() throws {
        let tree = try Self.machine()
        let run = Invocation(["list", "--sysfs-root", tree.root, "--json"])
        #expect(run.exitCode == 0)
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(run.text.utf8)) as? [[String: Any]])
        #expect(objects.map { $0["address"] as? String } == ["0000:00:1c.0", "0000:00:1f.2", "0000:01:00.0", "0001:02:00.0"])
        let keys: Set = ["address", "vendor", "device", "class", "driver", "iommuGroup", "numaNode", "nvme"]
        #expect(objects.allSatisfy { Set($0.keys) == keys }, "absent values are null, not missing")
        let nvme = objects[2]
        #expect(nvme["vendor"] as? String == "144d" && nvme["device"] as? String == "a808")
        #expect(nvme["class"] as? String == "010802" && nvme["driver"] as? String == "nvme")
        #expect(nvme["iommuGroup"] as? Int == 12 && nvme["numaNode"] as? Int == 1 && nvme["nvme"] as? Bool == true)
        let unbound = objects[3]
        #expect(unbound["driver"] is NSNull && unbound["iommuGroup"] is NSNull && unbound["numaNode"] as? Int == 0)
        #expect(objects[0]["nvme"] as? Bool == false && objects[0]["numaNode"] is NSNull)
    }

    @Test func nvmeOnlyKeepsClass010802() throws {
        let tree = try Self.machine()
        let table = Invocation(["list", "--sysfs-root", tree.root, "--nvme-only"])
        #expect(table.text.split(separator: "\n").map { String($0.prefix(12)) }
                    == ["ADDRESS     ", "0000:01:00.0", "0001:02:00.0", "2 function(s"])
        #expect(table.text.hasSuffix("2 function(s), 2 NVMe controller(s) (marked *)"))
        let json = Invocation(["list", "--sysfs-root", tree.root, "--nvme-only", "--json"])
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.text.utf8)) as? [[String: Any]])
        #expect(objects.map { $0["address"] as? String } == ["0000:01:00.0", "0001:02:00.0"])
    }

    @Test func anEmptyBusIsAnEmptyListing() throws {
        let tree = try FakeSysfs([])
        #expect(Invocation(["list", "--sysfs-root", tree.root]).text.hasSuffix("0 function(s), 0 NVMe controller(s) (marked *)"))
        #expect(Invocation(["list", "--sysfs-root", tree.root, "--json"]).text == "[\n\n]")
    }

    @Test func aMissingTreeExitsOneNamingThePath() {
        let run = Invocation(["list", "--sysfs-root", "/nonexistent-sysfs"])
        #expect(run.exitCode == 1)
        #expect(run.text.contains("/nonexistent-sysfs/bus/pci/devices is not a readable directory"))
    }
}
