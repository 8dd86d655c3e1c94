import DMAMapper
import NVMe
import PCIDevice

/// A command that cannot complete successfully, with the status the spec prescribes and, when a
/// pointer broke a PRP or SGL rule, where (recorded as a `DataPointerFault`).
/// A plain struct thrown with typed throws, so failing costs no allocation.
struct CommandFailure: Error {
    var status: CompletionStatus
    var site: PointerFaultSite?
    init(_ generic: GenericStatus) { status = CompletionStatus(generic, doNotRetry: true) }
    init(_ specific: CommandSpecificStatus) { status = CompletionStatus(specific, doNotRetry: true) }
    init(_ media: MediaStatus) { status = CompletionStatus(media) }
    init(status: CompletionStatus) { self.status = status }
    /// A pointer rule broken at `address`.
    init(_ generic: GenericStatus, at address: UInt64, _ reason: DataPointerFault.Reason) {
        status = CompletionStatus(generic, doNotRetry: true)
        site = PointerFaultSite(address: address, reason: reason)
    }
}

/// One piece of host memory a transfer touches, already translated by the IOMMU.
struct HostSegment {
    var address: UnsafeMutableRawPointer
    var length: Int
}

/// Walks a command's data pointer (PRP1/PRP2 with PRP lists, or SGL descriptors) through the
/// software IOMMU into host segments. Every address the host gave is translated before any
/// data moves, so a bad pointer fails the command with nothing half done.
///
/// `segments` keeps its capacity between commands: the walk allocates nothing once warmed up.
struct DataTransferWalker {
    var segments: [HostSegment] = []
    let iommu: SoftwareIOMMU
    /// Memory page size (CC.MPS) for PRP arithmetic.
    var pageSize = 4096
    /// A bound on descriptors per command so a looping SGL cannot hang the device.
    static let sglDescriptorLimit = 4096

    init(iommu: SoftwareIOMMU, expectedSegments: Int) {
        self.iommu = iommu
        segments.reserveCapacity(expectedSegments)
    }

    /// Translates the data pointer of `entry` for `length` bytes with `access`.
    ///
    /// PSDT has been checked before: dispatch holds admin commands to PRP and `executeIO` accepts
    /// only PRP or, when advertised, SGL with a contiguous metadata buffer.
    mutating func map(_ entry: SubmissionQueueEntry, length: Int, access: DMAAccess) throws(CommandFailure) {
        segments.removeAll(keepingCapacity: true)
        guard length > 0 else { return }
        if entry.declaredDataPointer == .sglContiguousMetadata {
            try mapSGL(entry.sgl1, length: length, access: access)
        } else {
            try mapPRP(prp1: entry.dptr1, prp2: entry.dptr2, length: length, access: access)
        }
    }

    // MARK: PRP

    /// PRP rules (NVMe Base 2.0, 4.1.1): PRP1 may carry a page offset; PRP2 is either the second
    /// page (offset 0) or a pointer to a PRP list (dword aligned, may have an offset); every list
    /// entry is a page (offset 0); the last entry of a full list page points to the next list page.
    mutating func mapPRP(prp1: UInt64, prp2: UInt64, length: Int, access: DMAAccess) throws(CommandFailure) {
        let pageMask = UInt64(pageSize - 1)
        guard prp1 & 0b11 == 0 else { throw CommandFailure(.prpOffsetInvalid, at: prp1, .prpNotDwordAligned) }
        let firstLength = min(length, pageSize - Int(prp1 & pageMask))
        try append(prp1, firstLength, access)
        var remaining = length - firstLength
        if remaining == 0 { return }
        if remaining <= pageSize {
            guard prp2 & pageMask == 0 else { throw CommandFailure(.prpOffsetInvalid, at: prp2, .prpEntryHasOffset) }
            try append(prp2, remaining, access)
            return
        }
        var list = prp2
        guard list & 0b11 == 0 else { throw CommandFailure(.prpOffsetInvalid, at: list, .prpNotDwordAligned) }
        while remaining > 0 {
            // Entries from the list pointer's offset to the end of its page; a pointer within
            // 7 bytes of the end leaves room for none (chained list pages are page aligned,
            // so only the first can).
            let slots = (pageSize - Int(list & pageMask)) / 8
            guard slots > 0 else { throw CommandFailure(.prpOffsetInvalid, at: list, .prpListCrossesPage) }
            let pagesLeft = (remaining + pageSize - 1) / pageSize
            let chains = pagesLeft > slots
            let dataEntries = chains ? slots - 1 : pagesLeft
            let readEntries = chains ? slots : pagesLeft
            let listMemory = try translate(list, readEntries * 8, .deviceReads)
            for index in 0..<dataEntries {
                let page = UInt64(littleEndian: listMemory.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
                guard page & pageMask == 0 else { throw CommandFailure(.prpOffsetInvalid, at: page, .prpEntryHasOffset) }
                let pieceLength = min(remaining, pageSize)
                try append(page, pieceLength, access)
                remaining -= pieceLength
            }
            if chains {
                let next = UInt64(littleEndian: listMemory.loadUnaligned(fromByteOffset: (slots - 1) * 8, as: UInt64.self))
                guard next & pageMask == 0 else { throw CommandFailure(.prpOffsetInvalid, at: next, .prpEntryHasOffset) }
                list = next
            }
        }
    }

    // MARK: Translation

    mutating func append(_ iova: UInt64, _ length: Int, _ access: DMAAccess) throws(CommandFailure) {
        let host = try translate(iova, length, access)
        if let last = segments.last, last.address + last.length == host {
            segments[segments.count - 1].length += length
        } else {
            segments.append(HostSegment(address: host, length: length))
        }
    }

    func translate(_ iova: UInt64, _ length: Int, _ access: DMAAccess) throws(CommandFailure) -> UnsafeMutableRawPointer {
        do {
            return try iommu.translate(iova: iova, length: length, access: access)
        } catch {
            // The IOMMU has recorded the fault; the command reports it the way the spec says.
            throw CommandFailure(.dataTransferError)
        }
    }
}
