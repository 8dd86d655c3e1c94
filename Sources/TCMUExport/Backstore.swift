#if canImport(Glibc)
import Glibc
#endif

/// One TCMU user backstore: configfs core/user_0/NAME, handled by this process.
public struct Backstore: Sendable, Equatable {
    /// The HBA folder every ctrlbench backstore lives in.
    public static let hba = "core/user_0"
    /// Prefix of the dev_config string that marks a backstore as ctrlbench's.
    public static let configPrefix = "ctrlbench/pid-"

    /// The backstore's name (a configfs folder name).
    public var name: String
    /// The logical unit of the host adapter it serves.
    public var lun: UInt64
    /// Bytes of the logical unit.
    public var sizeBytes: UInt64
    /// Logical block size.
    public var blockSize: Int
    /// Largest transfer in blocks (the backstore's hw_max_sectors).
    public var maximumSectors: Int
    /// The serving process, recorded in dev_config so that a later run can tell a stale backstore.
    public var pid: Int32
    /// What is exported, for dev_config and the uio name (e.g. "mock" or "0000:00:04.0").
    public var device: String

    public init(name: String, lun: UInt64, sizeBytes: UInt64, blockSize: Int, maximumSectors: Int, pid: Int32, device: String) {
        self.name = name
        self.lun = lun
        self.sizeBytes = sizeBytes
        self.blockSize = blockSize
        self.maximumSectors = maximumSectors
        self.pid = pid
        self.device = device
    }

    /// core/user_0/NAME.
    public var path: String { Self.hba + "/" + name }
    /// The handler string, which the kernel also puts in the uio device's name.
    public var devConfig: String { "\(Self.configPrefix)\(pid)/\(device)/lun\(lun)" }
    /// What is written to `control` before `enable`.
    public var control: String {
        "dev_config=\(devConfig),dev_size=\(sizeBytes),hw_max_sectors=\(maximumSectors),hw_block_size=\(blockSize)"
    }
    /// The name /sys/class/uio/uioN/name shows for this backstore.
    public var uioName: String { "tcm-user/0/\(name)/\(devConfig)" }

    /// A backstore name for `device`'s LUN: letters, digits and underscores only.
    public static func name(device: String, lun: UInt64) -> String {
        let safe = device.map { $0.isLetter || $0.isNumber ? $0 : "_" }
        return "ctrlbench_\(String(safe))_lun\(lun)"
    }

    /// Creates the backstore and enables it (the kernel then adds its uio device).
    /// - Returns: whether core/user_0 was created here (and is removed with the backstore).
    func create(in configfs: any ConfigFS) throws(ConfigFSError) -> Bool {
        let createdHBA = !configfs.exists(Self.hba)
        if createdHBA { try configfs.makeDirectory(Self.hba) }
        try configfs.makeDirectory(path)
        do {
            try configfs.write(path + "/control", control)
            try configfs.write(path + "/enable", "1")
        } catch {
            try? configfs.removeDirectory(path)
            if createdHBA { try? configfs.removeDirectory(Self.hba) }
            throw error
        }
        return createdHBA
    }

    /// Removes the backstore (its LUN links must be gone) and the HBA folder when this run made it.
    func remove(in configfs: any ConfigFS, removingHBA: Bool) throws(ConfigFSError) {
        try configfs.removeDirectory(path)
        // configfs refuses to remove an HBA that still holds another backstore, which then stays.
        if removingHBA { try? configfs.removeDirectory(Self.hba) }
    }

    /// The pid recorded in a backstore's dev_config when it is ctrlbench's, else nil.
    static func owner(devConfig: String) -> Int32? {
        guard devConfig.hasPrefix(configPrefix) else { return nil }
        return Int32(devConfig.dropFirst(configPrefix.count).prefix { $0 != "/" })
    }
}

/// Finds the uio device the kernel made for a backstore: /sys/class/uio/uioN whose `name` is the
/// backstore's uio name (the HBA number in it is not compared: any user_N HBA is the same backstore).
public func findUIO(named name: String, sysfsRoot: String) -> String? {
    let parts = name.split(separator: "/", maxSplits: 2)
    let identity = parts.count == 3 ? "/" + parts[2] : name
    let folder = sysfsRoot + "/class/uio"
    guard let directory = opendir(folder) else { return nil }
    defer { closedir(directory) }
    while let entry = readdir(directory) {
        let device = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard device.hasPrefix("uio") else { continue }
        guard let found = readSmallFile(folder + "/" + device + "/name")?.trimmingWhitespace else { continue }
        if found == name || (found.hasPrefix("tcm-user/") && found.hasSuffix(identity)) { return device }
    }
    return nil
}
