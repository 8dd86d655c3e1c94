import Logging
import NVMe

/// Finding the active namespaces at bring-up, and telling the usable ones from the rest.
enum NamespaceDiscovery {
    /// Entries in one Identify Active Namespace List page (CNS 02h).
    static let idsPerList = 1024

    /// Active namespace IDs in ascending order. From NVMe 1.1 on, Identify CNS 02h lists up to
    /// 1024 active IDs greater than the NSID given, so the next page starts after the last ID of
    /// the previous one. Older controllers have no such list: every ID 1...NN is a candidate (up to
    /// `DeviceValidation.legacyNamespaceScanLimit`) and Identify Namespace tells active from not.
    static func activeIDs(admin: AdminChannel, version: ControllerVersion, namespaceCount nn: UInt32,
                          logger: Logger) throws(ControllerError) -> [UInt32] {
        guard version.major > 1 || (version.major == 1 && version.minor >= 1) else {
            let limit = DeviceValidation.legacyNamespaceScanLimit
            if nn > limit { logger.warning("NN is \(nn); scanning namespaces 1...\(limit) only") }
            return nn == 0 ? [] : Array(1...min(nn, limit))
        }
        var ids: [UInt32] = []
        var after: UInt32 = 0
        while true {
            let page = try admin.runReturningData(.identify(.activeNamespaceList, nsid: after),
                                                  name: "Identify Active Namespace List after NSID \(after)")
            let listed = page.withUnsafeBytes { raw in
                (0..<idsPerList).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian }.prefix { $0 != 0 }
            }
            for id in listed {
                // Ascending IDs above the one asked for, each a valid NSID: anything else could loop forever.
                guard id > (ids.last ?? after), id < 0xFFFF_FFFF, nn == 0 || id <= nn else {
                    throw DeviceValidation.refuse("Identify Active Namespace List entry", id,
                        "IDs must ascend from NSID \(ids.last ?? after) and not exceed NN (\(nn))")
                }
                ids.append(id)
            }
            guard listed.count == idsPerList, let last = ids.last, last < 0xFFFF_FFFE else { return ids }
            after = last
        }
    }

    /// Identify Namespace for each ID: inactive ones (NSZE 0) are left out, and ones whose format
    /// the driver cannot serve are reported with the reason instead of stopping bring-up.
    static func identify(_ ids: [UInt32], admin: AdminChannel) throws(ControllerError) -> (usable: [Namespace], unusable: [UnusableNamespace]) {
        var usable: [Namespace] = []
        var unusable: [UnusableNamespace] = []
        for nsid in ids {
            let data: [UInt8]
            do {
                data = try admin.runReturningData(.identify(.namespace, nsid: nsid), name: "Identify Namespace \(nsid)")
            } catch {
                // An ID that is not a namespace (the pre-1.1 scan meets those) is skipped; any other
                // failure is reported against the namespace.
                guard case let .adminCommandFailed(_, status) = error else { throw error }
                if !status.matches(.invalidNamespaceOrFormat) { unusable.append(UnusableNamespace(id: nsid, reason: error)) }
                continue
            }
            let identify = data.withUnsafeBytes { IdentifyNamespace(bytes: $0) }
            guard identify.nsze > 0 else { continue }
            if let problem = DeviceValidation.problem(with: identify, nsid: nsid) {
                unusable.append(UnusableNamespace(id: nsid, reason: problem))
            } else {
                usable.append(Namespace(id: nsid, identify: identify))
            }
        }
        return (usable, unusable)
    }
}
