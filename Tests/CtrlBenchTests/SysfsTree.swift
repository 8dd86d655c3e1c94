import ArgumentParser
import Foundation
@testable import ctrlbench

/// A sysfs tree in a temporary folder for the commands' hidden `--sysfs-root` option, written
/// from a description of the machine: its PCI functions, loaded drivers and IOMMU groups, laid out
/// as the kernel lays them out (bus/pci/devices/ADDR with its attributes and `driver` and
/// `iommu_group` links, bus/pci/drivers/NAME, kernel/iommu_groups/N/devices).
final class SysfsTree {
    struct Function {
        var address: String
        var vendor: UInt16
        var device: UInt16
        var classCode: UInt32
        var driver: String?
        var group: Int?
        var numaNode = -1
    }

    let root: String
    private let files = FileManager.default

    init(_ functions: [Function], drivers: [String] = ["vfio-pci"]) throws {
        root = NSTemporaryDirectory() + "ctrlbench-sysfs-" + UUID().uuidString
        for directory in ["/bus/pci/devices", "/bus/pci/drivers", "/kernel/iommu_groups"] {
            try files.createDirectory(atPath: root + directory, withIntermediateDirectories: true)
        }
        try Data().write(to: URL(fileURLWithPath: root + "/bus/pci/drivers_probe"))
        for driver in Set(drivers + functions.compactMap(\.driver)) { try addDriver(driver) }
        for function in functions { try add(function) }
    }

    deinit { try? files.removeItem(atPath: root) }

    func addDriver(_ name: String) throws {
        let directory = root + "/bus/pci/drivers/" + name
        try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for attribute in ["bind", "unbind"] { try Data().write(to: URL(fileURLWithPath: directory + "/" + attribute)) }
    }

    func removeDriver(_ name: String) throws { try files.removeItem(atPath: root + "/bus/pci/drivers/" + name) }

    private func add(_ function: Function) throws {
        let directory = root + "/bus/pci/devices/" + function.address
        try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // The attributes libpci's sysfs back end and the binder read.
        let attributes = [
            "vendor": String(format: "0x%04x", function.vendor), "device": String(format: "0x%04x", function.device),
            "class": String(format: "0x%06x", function.classCode), "revision": "0x00", "irq": "0",
            "subsystem_vendor": "0x0000", "subsystem_device": "0x0000", "numa_node": "\(function.numaNode)",
            "driver_override": "(null)",
            "resource": Array(repeating: "0x0000000000000000 0x0000000000000000 0x0000000000000000", count: 13)
                .joined(separator: "\n"),
        ]
        for (name, value) in attributes { try (value + "\n").write(toFile: directory + "/" + name, atomically: false, encoding: .utf8) }
        if let driver = function.driver {
            try files.createSymbolicLink(atPath: directory + "/driver", withDestinationPath: "../../drivers/" + driver)
        }
        if let group = function.group {
            let members = root + "/kernel/iommu_groups/\(group)/devices"
            try files.createDirectory(atPath: members, withIntermediateDirectories: true)
            try files.createSymbolicLink(atPath: members + "/" + function.address,
                                         withDestinationPath: "../../../../bus/pci/devices/" + function.address)
            try files.createSymbolicLink(atPath: directory + "/iommu_group",
                                         withDestinationPath: "../../../../kernel/iommu_groups/\(group)")
        }
    }

    /// The driver the tree shows `address` bound to.
    func driver(of address: String) -> String? {
        (try? files.destinationOfSymbolicLink(atPath: root + "/bus/pci/devices/\(address)/driver"))
            .map { URL(fileURLWithPath: $0).lastPathComponent }
    }
}

/// What a ctrlbench invocation prints and exits with, run in process: the command's output and
/// status 0, or the message and status ArgumentParser's `main` gives for the error it throws.
struct Invocation {
    var text: String
    var exitCode: Int32

    init(_ arguments: [String]) {
        do {
            let command = try CtrlBench.parseAsRoot(arguments)
            switch command {
            case let list as List: text = try list.output()
            case let bind as Bind: text = try bind.output()
            case let unbind as Unbind: text = try unbind.output()
            default: text = "not a sysfs command: \(arguments)"
            }
            exitCode = 0
        } catch {
            text = CtrlBench.fullMessage(for: error)
            exitCode = CtrlBench.exitCode(for: error).rawValue
        }
    }
}
