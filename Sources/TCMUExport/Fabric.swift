import HexFormat

/// A LIO fabric that makes the backstores reachable: tcm_loop (a local SCSI host, so a /dev/sdX
/// appears on this machine) or iSCSI (a target portal other machines log in to).
public enum Fabric: Sendable, Equatable {
    /// tcm_loop, with the target WWN and the initiator WWN of its nexus.
    case loopback(target: String, initiator: String)
    /// iSCSI, with the target IQN and its portal ("ADDR:PORT", IPv6 as "[ADDR]:PORT").
    case iscsi(target: String, portal: String)

    /// The loopback fabric named for `exportName`: stable across runs, so a stale one is found again.
    public static func loopback(for exportName: String) -> Fabric {
        .loopback(target: "naa.5" + hex15(exportName + "/target"), initiator: "naa.5" + hex15(exportName + "/initiator"))
    }

    /// The iSCSI fabric named for `exportName`, on `portal`.
    public static func iscsi(for exportName: String, portal: String) -> Fabric {
        .iscsi(target: iqnPrefix + exportName.lowercased().replacingUnderscores, portal: portal)
    }

    /// The IQN prefix of every ctrlbench target.
    public static let iqnPrefix = "iqn.2026-12.org.swiftnvme:"

    /// The fabric's folder: loopback/WWN or iscsi/IQN.
    public var wwnPath: String {
        switch self {
        case let .loopback(target, _): "loopback/" + target
        case let .iscsi(target, _): "iscsi/" + target
        }
    }

    /// The fabric module's folder at the top of the target tree.
    public var modulePath: String {
        switch self {
        case .loopback: "loopback"
        case .iscsi: "iscsi"
        }
    }

    /// The target portal group.
    public var tpgPath: String { wwnPath + "/tpgt_1" }

    /// Creates the WWN and portal group and links each backstore as LUN 0, 1, ... in order.
    /// tcm_loop's nexus is written before any LUN is linked (a LUN linked first is never scanned);
    /// iSCSI gets its portal, demo mode (any initiator, no ACLs) and no authentication.
    /// - Returns: whether the fabric module's folder was created here.
    func create(in configfs: any ConfigFS, backstores: [Backstore]) throws(ConfigFSError) -> Bool {
        let createdModule = !configfs.exists(modulePath)
        if createdModule { try configfs.makeDirectory(modulePath) }
        try configfs.makeDirectory(wwnPath)
        try configfs.makeDirectory(tpgPath)
        switch self {
        case let .loopback(_, initiator):
            try configfs.write(tpgPath + "/nexus", initiator)
        case let .iscsi(_, portal):
            try configfs.makeDirectory(tpgPath + "/np/" + portal)
            try configfs.write(tpgPath + "/attrib/authentication", "0")
            try configfs.write(tpgPath + "/attrib/generate_node_acls", "1")
            try configfs.write(tpgPath + "/attrib/demo_mode_write_protect", "0")
            try configfs.write(tpgPath + "/attrib/cache_dynamic_acls", "1")
        }
        for (index, backstore) in backstores.enumerated() {
            let lun = tpgPath + "/lun/lun_\(index)"
            try configfs.makeDirectory(lun)
            try configfs.link(lun + "/" + backstore.name, to: backstore.path)
        }
        if case .iscsi = self { try configfs.write(tpgPath + "/enable", "1") }
        return createdModule
    }

    /// Removes what `create` made, whatever part of it exists: the LUN links first (for tcm_loop the
    /// kernel then removes the SCSI device, and sd sends its final SYNCHRONIZE CACHE through the
    /// still-served ring), the LUNs, the portal, the portal group, the WWN.
    func remove(in configfs: any ConfigFS, removingModule: Bool) throws(ConfigFSError) {
        guard configfs.exists(wwnPath) else { return }
        if case .iscsi = self, configfs.exists(tpgPath + "/enable") { try? configfs.write(tpgPath + "/enable", "0") }
        for lun in configfs.list(tpgPath + "/lun") {
            let folder = tpgPath + "/lun/" + lun
            for item in configfs.list(folder) where configfs.linkTarget(folder + "/" + item) != nil {
                try configfs.unlink(folder + "/" + item)
            }
            try configfs.removeDirectory(folder)
        }
        for portal in configfs.list(tpgPath + "/np") { try configfs.removeDirectory(tpgPath + "/np/" + portal) }
        if configfs.exists(tpgPath) { try configfs.removeDirectory(tpgPath) }
        try configfs.removeDirectory(wwnPath)
        // configfs refuses while other targets of the fabric remain; then the folder stays.
        if removingModule { try? configfs.removeDirectory(modulePath) }
    }

    /// Fifteen hex digits from FNV-1a of `text`.
    static func hex15(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hexDigits(hash & 0x0FFF_FFFF_FFFF_FFFF, width: 15)
    }
}

extension String {
    var replacingUnderscores: String { String(map { $0 == "_" ? "-" : $0 }) }
}
