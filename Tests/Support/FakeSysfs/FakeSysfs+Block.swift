import Foundation

/// Block devices below a PCI function, and the mount table and swap list that say who uses them,
/// for the in-use check of `bind`. Laid out as the kernel does: the disk's directory sits below
/// the function (`.../0000:01:00.0/nvme/nvme0/nvme0n1`, its partitions inside it), and
/// /sys/class/block holds a link to each disk and partition.
extension FakeSysfs {
    /// The folder standing in for /proc (its `self/mountinfo` and `swaps`).
    public var procRoot: String { root + "/proc" }

    /// Adds block device `name` at `relativePath` below the function `address` (for a partition,
    /// a path inside its disk's directory), with its `dev` number and `holders` entries.
    public func addBlockDevice(_ name: String, under address: String, at relativePath: String,
                               number: String, holders: [String] = []) throws {
        let dir = busPCI + "/devices/" + address + "/" + relativePath
        try make(dir + "/holders")
        try write(number + "\n", to: dir + "/dev")
        for holder in holders { try write("", to: dir + "/holders/" + holder) }
        try make(root + "/class/block")
        try FileManager.default.createSymbolicLink(
            atPath: root + "/class/block/" + name,
            withDestinationPath: "../../bus/pci/devices/" + address + "/" + relativePath)
    }

    /// Writes the mount table: one mountinfo line per (major:minor, mount point).
    public func writeMounts(_ mounts: [(number: String, mountPoint: String)]) throws {
        try make(procRoot + "/self")
        let lines = mounts.enumerated().map { index, mount in
            "\(20 + index) 1 \(mount.number) / \(mount.mountPoint) rw,relatime shared:1 - ext4 /dev/x rw"
        }
        try write(lines.map { $0 + "\n" }.joined(), to: procRoot + "/self/mountinfo")
    }

    /// Writes the swap list with one swap area per device path.
    public func writeSwaps(_ devices: [String]) throws {
        try make(procRoot)
        let lines = ["Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority"]
            + devices.map { "\($0)                               partition\t8388604\t\t0\t\t-2" }
        try write(lines.map { $0 + "\n" }.joined(), to: procRoot + "/swaps")
    }
}
