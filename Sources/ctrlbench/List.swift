import ArgumentParser
import Foundation
import HexFormat
import PCIDevice

/// `ctrlbench list`: the machine's PCI functions, NVMe controllers marked.
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List PCI functions with their driver, IOMMU group and NUMA node.")

    @Flag(help: "Only show NVMe controllers (class 01 08 02).")
    var nvmeOnly = false

    @Flag(help: "Print a JSON array instead of a table.")
    var json = false

    @OptionGroup var sysfs: SysfsOptions

    func run() throws {
        print(try output())
    }

    /// What `run` prints: the table, or the JSON array.
    func output() throws -> String {
        var functions = try PCIDiscovery(sysfsBusPCI: sysfs.sysfsRoot + "/bus/pci").scan()
        if nvmeOnly { functions = functions.filter(\.isNVMeController) }
        let rows = functions.map(Row.init)
        guard json else { return Row.table(rows) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(rows), as: UTF8.self)
    }
}

/// One line of the listing; also the JSON object shape (ids as lowercase hex strings, as lspci shows them).
struct Row: Codable {
    var address: String
    var vendor: String
    var device: String
    var `class`: String
    var driver: String?
    var iommuGroup: Int?
    var numaNode: Int?
    var nvme: Bool

    init(_ function: PCIFunction) {
        address = function.address.description
        vendor = hexDigits(function.vendorID, width: 4)
        device = hexDigits(function.deviceID, width: 4)
        `class` = hexDigits(function.classCode, width: 6)
        driver = function.driver
        iommuGroup = function.iommuGroup
        numaNode = function.numaNode
        nvme = function.isNVMeController
    }

    /// Absent values are written as null rather than left out, so every object has the same keys.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(address, forKey: .address)
        try container.encode(vendor, forKey: .vendor)
        try container.encode(device, forKey: .device)
        try container.encode(`class`, forKey: .class)
        try container.encode(driver, forKey: .driver)
        try container.encode(iommuGroup, forKey: .iommuGroup)
        try container.encode(numaNode, forKey: .numaNode)
        try container.encode(nvme, forKey: .nvme)
    }

    static func table(_ rows: [Row]) -> String {
        let header = ["ADDRESS", "VENDOR:DEVICE", "CLASS", "DRIVER", "IOMMU", "NUMA", "NVME"]
        let cells = rows.map { row in
            [row.address, row.vendor + ":" + row.device, row.class, row.driver ?? "-",
             row.iommuGroup.map(String.init) ?? "-", row.numaNode.map(String.init) ?? "-", row.nvme ? "*" : ""]
        }
        let lines = alignedRows([header] + cells)
        let nvmeCount = rows.filter(\.nvme).count
        return (lines + ["\(rows.count) function(s), \(nvmeCount) NVMe controller(s) (marked *)"])
            .joined(separator: "\n")
    }
}
