#if canImport(Glibc)
import Glibc
#endif

/// Where the export finds the system: real paths by default, a temporary tree in the tests.
public struct SystemPaths: Sendable {
    /// The LIO tree (configfs).
    public var configfs = "/sys/kernel/config/target"
    /// sysfs (modules, uio devices).
    public var sysfs = "/sys"
    /// Device nodes.
    public var dev = "/dev"
    /// /proc/mounts, to tell an unmounted configfs.
    public var mounts = "/proc/mounts"
    /// LIO's persistent-reservation folder.
    public var reservations = "/etc/target/pr"

    public init() {}
}

/// Something the export needs that the system lacks, with the command that fixes it.
public struct MissingPrerequisite: Sendable, Equatable, CustomStringConvertible {
    public var what: String
    public var fix: String
    public var description: String { "\(what); fix: \(fix)" }
}

/// Checks, without changing anything, what the export needs: the modules (the export loads none
/// itself), configfs mounted at /sys/kernel/config with LIO's tree in it, and /etc/target/pr,
/// which must exist before target_core_mod loads or every PERSISTENT RESERVE OUT fails NOT READY.
public func missingPrerequisites(paths: SystemPaths, loopback: Bool, iscsi: Bool) -> [MissingPrerequisite] {
    var missing: [MissingPrerequisite] = []
    var modules = ["target_core_mod", "uio", "target_core_user"]
    if loopback { modules.append("tcm_loop") }
    if iscsi { modules.append("iscsi_target_mod") }
    for module in modules where access(paths.sysfs + "/module/" + module, F_OK) != 0 {
        missing.append(MissingPrerequisite(what: "kernel module \(module) is not loaded", fix: "modprobe \(module)"))
    }
    let mounts = readSmallFile(paths.mounts) ?? ""
    let configfsRoot = String(paths.configfs.dropLast("/target".count))
    let mounted = mounts.split(separator: "\n").contains { line in
        let fields = line.split(separator: " ")
        return fields.count > 2 && fields[2] == "configfs" && fields[1] == configfsRoot
    }
    if !mounted {
        missing.append(MissingPrerequisite(what: "configfs is not mounted at \(configfsRoot)",
                                           fix: "mount -t configfs none \(configfsRoot)"))
    } else if access(paths.configfs, F_OK) != 0 {
        missing.append(MissingPrerequisite(what: "\(paths.configfs) is missing (LIO's core is not loaded)",
                                           fix: "modprobe target_core_mod"))
    }
    var info = stat()
    if stat(paths.reservations, &info) != 0 || info.st_mode & S_IFMT != S_IFDIR {
        missing.append(MissingPrerequisite(
            what: "\(paths.reservations) does not exist (PERSISTENT RESERVE OUT would fail NOT READY)",
            fix: "mkdir -p \(paths.reservations), then reload target_core_mod (it looks for the folder when it loads)"))
    }
    return missing
}
