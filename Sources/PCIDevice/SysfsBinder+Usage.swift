import HexFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What a function is and who is using it through its current driver: the two questions `bind`
/// asks before it takes a function from its driver (a NIC, or a disk with a mounted file system,
/// must not be taken by a typo in the address).
extension SysfsBinder {
    /// PCI class code 01 08 02: mass storage controller, non-volatile memory controller, NVM
    /// Express I/O controller programming interface (PCI Code and ID Assignment, base class 01h).
    public static let nvmeClassCode: UInt32 = 0x010802

    /// The function's 24-bit class code from its `class` attribute, nil when it cannot be read.
    public func classCode(of address: PCIAddress) -> UInt32? {
        Sysfs.readHex(devicePath(address) + "/class").map { $0 & 0xFF_FFFF }
    }

    /// One block device that lives below a PCI function: a disk or a partition.
    struct BlockDevice {
        /// Its name in /sys/class/block (`nvme0n1`, `nvme0n1p2`).
        var name: String
        /// `major:minor`, as `dev` and the mount table write it.
        var number: String?
        /// What the block layer lists under `holders/` (device-mapper, md, bcache...).
        var holders: [String]
    }

    /// The block devices (disks and their partitions) whose sysfs device lies below `address`:
    /// every /sys/class/block entry whose link resolves inside the function's own directory.
    func blockDevices(of address: PCIAddress) -> [BlockDevice] {
        guard let functionPath = Sysfs.resolved(devicePath(address)) else { return [] }
        let classBlock = sysfsRoot + "/class/block"
        return (Sysfs.entries(classBlock) ?? []).compactMap { name in
            let path = classBlock + "/" + name
            guard let resolved = Sysfs.resolved(path), resolved.hasPrefix(functionPath + "/") else { return nil }
            return BlockDevice(name: name, number: Sysfs.readLine(path + "/dev"),
                               holders: Sysfs.entries(path + "/holders") ?? [])
        }
    }

    /// Everything that uses the function through its current driver, one phrase each: a block
    /// device below it that is mounted (from `procRoot`/self/mountinfo), used as swap
    /// (`procRoot`/swaps) or held by another block device (its `holders` directory). Empty when
    /// nothing does, so unbinding the driver loses nothing but the device nodes.
    public func usersOfFunction(_ address: PCIAddress) -> [String] {
        let devices = blockDevices(of: address)
        guard !devices.isEmpty else { return [] }
        let mounts = Self.mountPoints(mountInfo: Sysfs.readText(procRoot + "/self/mountinfo") ?? "")
        let swaps = Self.swapDevices(Sysfs.readText(procRoot + "/swaps") ?? "")
        var users: [String] = []
        for device in devices {
            if let number = device.number {
                for mountPoint in mounts[number] ?? [] {
                    users.append("\(device.name) (\(number)) is mounted on \(mountPoint)")
                }
            }
            if swaps.contains("/dev/" + device.name) { users.append("\(device.name) is in use as swap") }
            for holder in device.holders { users.append("\(device.name) is held by \(holder)") }
        }
        return users
    }

    /// Mount points by `major:minor` from /proc/self/mountinfo (proc(5)): field 3 is the device
    /// number, field 5 the mount point (octal escapes such as \040 left as the kernel writes them).
    static func mountPoints(mountInfo: String) -> [String: [String]] {
        var points: [String: [String]] = [:]
        for line in mountInfo.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 5 else { continue }
            points[String(fields[2]), default: []].append(String(fields[4]))
        }
        return points
    }

    /// The device paths in /proc/swaps (first column; the header line names no device).
    static func swapDevices(_ swaps: String) -> Set<String> {
        Set(swaps.split(separator: "\n").dropFirst().compactMap { $0.split(separator: " ").first.map(String.init) })
    }
}

extension Sysfs {
    /// The canonical path of `path` (symlinks resolved), nil when it does not exist.
    static func resolved(_ path: String) -> String? {
        guard let canonical = realpath(path, nil) else { return nil }
        defer { free(canonical) }
        return String(cString: canonical)
    }

    /// A whole small text file (the mount table, the swap list), nil when it cannot be read.
    static func readText(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Names for PCI base classes (PCI Code and ID Assignment), so a refusal says what the function is.
enum PCIClassName {
    static func of(_ classCode: UInt32) -> String {
        switch classCode >> 16 {
        case 0x00: "unclassified device"
        case 0x01: classCode >> 8 == 0x0108 ? "non-volatile memory controller" : "mass storage controller"
        case 0x02: "network controller"
        case 0x03: "display controller"
        case 0x04: "multimedia controller"
        case 0x05: "memory controller"
        case 0x06: "bridge"
        case 0x07: "communication controller"
        case 0x08: "system peripheral"
        case 0x0C: "serial bus controller"
        case 0x0D: "wireless controller"
        default: "device of base class \(hexDigits(classCode >> 16, width: 2))h"
        }
    }
}
