import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The configfs side of an export: its backstores and fabrics, created in order and removed in
/// reverse, plus the clean-up of what a killed run left behind. Holds what it created, so that
/// tear-down leaves configfs as it was found.
public final class ExportLayout {
    public let configfs: any ConfigFS
    public let backstores: [Backstore]
    public let fabrics: [Fabric]
    private var createdHBA = false
    private var createdBackstores: [Backstore] = []
    private var createdFabrics: [(fabric: Fabric, createdModule: Bool)] = []

    public init(configfs: any ConfigFS, backstores: [Backstore], fabrics: [Fabric]) {
        self.configfs = configfs
        self.backstores = backstores
        self.fabrics = fabrics
    }

    /// Creates and enables every backstore; on failure, removes the ones made.
    public func createBackstores() throws(ConfigFSError) {
        for backstore in backstores {
            do {
                let made = try backstore.create(in: configfs)
                createdHBA = createdHBA || made
                createdBackstores.append(backstore)
            } catch {
                try? removeBackstores()
                throw error
            }
        }
    }

    /// Creates every fabric with all backstores as its LUNs (serve the rings first: the kernel
    /// sends commands as soon as a LUN is linked).
    public func createFabrics() throws(ConfigFSError) {
        for fabric in fabrics {
            do {
                let made = try fabric.create(in: configfs, backstores: backstores)
                createdFabrics.append((fabric, made))
            } catch {
                try? fabric.remove(in: configfs, removingModule: false)
                throw error
            }
        }
    }

    /// Removes the fabrics, newest first. Keep serving the rings meanwhile: the initiators' last
    /// commands (sd's SYNCHRONIZE CACHE) arrive during removal.
    public func removeFabrics() throws(ConfigFSError) {
        while let last = createdFabrics.last {
            try last.fabric.remove(in: configfs, removingModule: last.createdModule)
            createdFabrics.removeLast()
        }
    }

    /// Removes the backstores (after the fabrics and after the rings stopped being served).
    public func removeBackstores() throws(ConfigFSError) {
        while let last = createdBackstores.last {
            try last.remove(in: configfs, removingHBA: createdHBA && createdBackstores.count == 1)
            createdBackstores.removeLast()
        }
    }

    /// Finds ctrlbench backstores whose recorded process is gone and removes them with every fabric
    /// LUN that links to them (and the portal groups and WWNs of ctrlbench's own naming left empty).
    /// - Returns: one line per item removed.
    ///
    /// `whileUnlinking` is called for each stale backstore (its configfs path and dev_config) before
    /// its LUNs are unlinked, and what it returns after; `ctrlbench export` answers the dead ring then.
    public static func removeStale(in configfs: any ConfigFS, isAlive: (Int32) -> Bool = processIsAlive,
                                   whileUnlinking: (String, String) -> (() -> Void) = { _, _ in {} })
        throws(ConfigFSError) -> [String] {
        var removed: [String] = []
        for hba in configfs.list("core") where hba.hasPrefix("user_") {
            for name in configfs.list("core/" + hba) {
                let path = "core/\(hba)/\(name)"
                guard let devConfig = configfs.read(path + "/attrib/dev_config"),
                      let pid = Backstore.owner(devConfig: devConfig), !isAlive(pid) else { continue }
                let done = whileUnlinking(path, devConfig)
                defer { done() }
                removed += try removeLinks(to: path, in: configfs, exportName: exportName(ofBackstore: name))
                try configfs.removeDirectory(path)
                removed.append("stale backstore \(path) (process \(pid) is gone)")
            }
            // The killed run's own HBA folder, unless another backstore holds it (configfs refuses then).
            if hba == "user_0", !removed.isEmpty { try? configfs.removeDirectory("core/" + hba) }
        }
        return removed
    }

    /// The export name a backstore name came from: ctrlbench_DEVICE from ctrlbench_DEVICE_lunN.
    public static func exportName(ofBackstore name: String) -> String {
        guard let range = name.range(of: "_lun", options: .backwards) else { return name }
        return String(name[..<range.lowerBound])
    }

    static func removeLinks(to backstore: String, in configfs: any ConfigFS, exportName: String) throws(ConfigFSError) -> [String] {
        var removed: [String] = []
        for module in ["loopback", "iscsi"] {
            for wwn in configfs.list(module) {
                let ours = module == "iscsi" ? wwn.hasPrefix(Fabric.iqnPrefix) : "loopback/" + wwn == Fabric.loopback(for: exportName).wwnPath
                for tpg in configfs.list(module + "/" + wwn) where tpg.hasPrefix("tpgt_") {
                    let tpgPath = "\(module)/\(wwn)/\(tpg)"
                    for lun in configfs.list(tpgPath + "/lun") {
                        let folder = tpgPath + "/lun/" + lun
                        let links = configfs.list(folder).filter { configfs.linkTarget(folder + "/" + $0) == backstore }
                        guard !links.isEmpty else { continue }
                        for link in links { try configfs.unlink(folder + "/" + link) }
                        try configfs.removeDirectory(folder)
                        removed.append("stale LUN \(folder)")
                    }
                    if ours, configfs.list(tpgPath + "/lun").isEmpty {
                        for portal in configfs.list(tpgPath + "/np") { try configfs.removeDirectory(tpgPath + "/np/" + portal) }
                        try configfs.removeDirectory(tpgPath)
                        removed.append("stale portal group \(tpgPath)")
                    }
                }
                if ours, configfs.list(module + "/" + wwn).filter({ $0.hasPrefix("tpgt_") }).isEmpty {
                    try configfs.removeDirectory(module + "/" + wwn)
                    removed.append("stale target \(module)/\(wwn)")
                    // The fabric's folder too, as the killed run would have on stopping (configfs
                    // refuses while other targets of the fabric remain).
                    try? configfs.removeDirectory(module)
                }
            }
        }
        return removed
    }
}

/// Whether process `pid` exists (a process of another user counts).
public func processIsAlive(_ pid: Int32) -> Bool {
    kill(pid, 0) == 0 || errno == EPERM
}
