import PCIDevice

/// The state behind `SoftwareIOMMU`'s lock: mappings sorted by IOVA, a last-hit cache, faults.
///
/// Host addresses are stored as integers so the table is plain Sendable data; the pointer is
/// rebuilt outside the lock.
struct SoftwareIOMMUTable: Sendable {
    struct Mapping: Sendable {
        var iova: UInt64
        var length: Int
        var host: UInt
        var access: DMAAccess
        /// Last IOVA inside the mapping (inclusive, so a mapping may end at 2^64 - 1).
        var last: UInt64 { iova + UInt64(length - 1) }
    }

    enum Translation: Sendable {
        case host(UInt)
        case fault(DMAFault)
    }

    /// Sorted by `iova`, never overlapping.
    var mappings: [Mapping] = []
    var faults: [DMAFault] = []
    /// Index of the mapping the last successful translation hit: consecutive commands of a
    /// benchmark usually touch the same few buffers.
    var lastHit = 0

    /// Index of the last mapping whose IOVA is <= `iova`, or nil when all start above it.
    func indexOfMapping(atOrBelow iova: UInt64) -> Int? {
        var low = 0
        var high = mappings.count
        // Invariant: mappings[..<low].iova <= iova < mappings[high...].iova
        while low < high {
            let mid = (low + high) / 2
            if mappings[mid].iova <= iova { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? nil : low - 1
    }

    mutating func insert(_ entry: Mapping) throws(SoftwareIOMMUError) {
        let below = indexOfMapping(atOrBelow: entry.iova)
        let insertAt = (below ?? -1) + 1
        if let below, mappings[below].last >= entry.iova {
            throw Self.overlap(entry, mappings[below])
        }
        if insertAt < mappings.count, mappings[insertAt].iova <= entry.last {
            throw Self.overlap(entry, mappings[insertAt])
        }
        mappings.insert(entry, at: insertAt)
        lastHit = insertAt
    }

    mutating func remove(iova: UInt64, length: Int) throws(SoftwareIOMMUError) {
        guard let index = indexOfMapping(atOrBelow: iova),
              mappings[index].iova == iova, mappings[index].length == length
        else { throw .notMapped(iova: iova, length: length) }
        mappings.remove(at: index)
        lastHit = 0
    }

    mutating func translate(iova: UInt64, length: Int, access: DMAAccess) -> Translation {
        guard length >= 0 else { return record(iova, length, access, .negativeLength) }
        if lastHit < mappings.count, let host = Self.resolve(mappings[lastHit], iova, length, access) {
            return .host(host)
        }
        guard let index = indexOfMapping(atOrBelow: iova) else {
            return record(iova, length, access, .unmapped)
        }
        let mapping = mappings[index]
        let offset = iova - mapping.iova
        guard offset < UInt64(mapping.length) else { return record(iova, length, access, .unmapped) }
        guard mapping.access.isSuperset(of: access) else { return record(iova, length, access, .accessDenied) }
        guard UInt64(length) <= UInt64(mapping.length) - offset else {
            return record(iova, length, access, .crossesMappingEnd)
        }
        lastHit = index
        return .host(mapping.host + UInt(offset))
    }

    /// The host address when the whole access fits `mapping`; nil means "look further".
    private static func resolve(_ mapping: Mapping, _ iova: UInt64, _ length: Int, _ access: DMAAccess) -> UInt? {
        guard iova >= mapping.iova else { return nil }
        let offset = iova - mapping.iova
        guard offset < UInt64(mapping.length), UInt64(length) <= UInt64(mapping.length) - offset,
              mapping.access.isSuperset(of: access)
        else { return nil }
        return mapping.host + UInt(offset)
    }

    private mutating func record(_ iova: UInt64, _ length: Int, _ access: DMAAccess, _ reason: DMAFault.Reason) -> Translation {
        let fault = DMAFault(iova: iova, length: length, access: access, reason: reason)
        faults.append(fault)
        return .fault(fault)
    }

    private static func overlap(_ entry: Mapping, _ existing: Mapping) -> SoftwareIOMMUError {
        .overlapsMapping(iova: entry.iova, length: entry.length, existingIOVA: existing.iova, existingLength: existing.length)
    }
}
