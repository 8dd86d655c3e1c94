import DMAMapper
import NVMe
import PCIDevice

/// A command that cannot complete successfully, with the status the spec prescribes.
/// A plain struct thrown with typed throws, so failing costs no allocation.
struct CommandFailure: Error {
    var status: CompletionStatus
    init(_ generic: GenericStatus) { status = CompletionStatus(generic, doNotRetry: true) }
    init(_ specific: CommandSpecificStatus) { status = CompletionStatus(specific, doNotRetry: true) }
    init(_ media: MediaStatus) { status = CompletionStatus(media) }
    init(status: CompletionStatus) { self.status = status }
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
    mutating func map(_ entry: SubmissionQueueEntry, length: Int, access: DMAAccess, sglAllowed: Bool) throws(CommandFailure) {
        segments.removeAll(keepingCapacity: true)
        guard length > 0 else { return }
        let kind = (entry.cdw0 >> 14) & 0b11
        switch kind {
        case 0: try mapPRP(prp1: entry.dptr1, prp2: entry.dptr2, length: length, access: access)
        case 1 where sglAllowed: try mapSGL(entry.sgl1, length: length, access: access)
        default: throw CommandFailure(.invalidFieldInCommand)
        }
    }

    // MARK: PRP

    /// PRP rules (NVMe Base 2.0, 4.1.1): PRP1 may carry a page offset; PRP2 is either the second
    /// page (offset 0) or a pointer to a PRP list (dword aligned, may have an offset); every list
    /// entry is a page (offset 0); the last entry of a full list page points to the next list page.
    mutating func mapPRP(prp1: UInt64, prp2: UInt64, length: Int, access: DMAAccess) throws(CommandFailure) {
        let pageMask = UInt64(pageSize - 1)
        guard prp1 & 0b11 == 0 else { throw CommandFailure(.prpOffsetInvalid) }
        let firstLength = min(length, pageSize - Int(prp1 & pageMask))
        try append(prp1, firstLength, access)
        var remaining = length - firstLength
        if remaining == 0 { return }
        if remaining <= pageSize {
            guard prp2 & pageMask == 0 else { throw CommandFailure(.prpOffsetInvalid) }
            try append(prp2, remaining, access)
            return
        }
        var list = prp2
        guard list & 0b11 == 0 else { throw CommandFailure(.prpOffsetInvalid) }
        while remaining > 0 {
            let slots = (pageSize - Int(list & pageMask)) / 8
            let pagesLeft = (remaining + pageSize - 1) / pageSize
            let chains = pagesLeft > slots
            let dataEntries = chains ? slots - 1 : pagesLeft
            let readEntries = chains ? slots : pagesLeft
            let listMemory = try translate(list, readEntries * 8, .deviceReads)
            for index in 0..<dataEntries {
                let page = UInt64(littleEndian: listMemory.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
                guard page & pageMask == 0 else { throw CommandFailure(.prpOffsetInvalid) }
                let pieceLength = min(remaining, pageSize)
                try append(page, pieceLength, access)
                remaining -= pieceLength
            }
            if chains {
                let next = UInt64(littleEndian: listMemory.loadUnaligned(fromByteOffset: (slots - 1) * 8, as: UInt64.self))
                guard next & pageMask == 0 else { throw CommandFailure(.prpOffsetInvalid) }
                list = next
            }
        }
    }

    // MARK: SGL

    /// SGL rules (NVMe Base 2.0, 4.1.2): SGL1 is a Data Block, a Segment or a Last Segment; a
    /// Segment's last descriptor chains to the next segment, a Last Segment holds Data Blocks
    /// only; the Data Blocks must describe exactly the transfer length.
    mutating func mapSGL(_ first: SGLDescriptor, length: Int, access: DMAAccess) throws(CommandFailure) {
        var total = 0
        switch first.type {
        case .dataBlock?:
            try appendDataBlock(first, &total, length, access)
        case .segment?, .lastSegment?:
            try walkSegments(from: first, &total, length, access)
        default:
            throw CommandFailure(.sglDescriptorTypeInvalid)
        }
        guard total == length else { throw CommandFailure(.dataSGLLengthInvalid) }
    }

    private mutating func walkSegments(from first: SGLDescriptor, _ total: inout Int, _ length: Int, _ access: DMAAccess) throws(CommandFailure) {
        var pointer = first
        var seen = 0
        while true {
            guard pointer.subtype == 0 else { throw CommandFailure(.sglDescriptorTypeInvalid) }
            let bytes = Int(pointer.length)
            guard bytes > 0, bytes % SGLDescriptor.size == 0 else { throw CommandFailure(.invalidSGLSegmentDescriptor) }
            let count = bytes / SGLDescriptor.size
            seen += count
            guard seen <= Self.sglDescriptorLimit else { throw CommandFailure(.invalidNumberOfSGLDescriptors) }
            let isLast = pointer.type == .lastSegment
            let memory = try translate(pointer.address, bytes, .deviceReads)
            var next: SGLDescriptor?
            for index in 0..<count {
                let low = UInt64(littleEndian: memory.loadUnaligned(fromByteOffset: index * 16, as: UInt64.self))
                let high = UInt64(littleEndian: memory.loadUnaligned(fromByteOffset: index * 16 + 8, as: UInt64.self))
                let descriptor = SGLDescriptor(low: low, high: high)
                switch descriptor.type {
                case .dataBlock?:
                    try appendDataBlock(descriptor, &total, length, access)
                case .segment?, .lastSegment?:
                    // Only a Segment may chain, and only from its last descriptor.
                    guard !isLast, index == count - 1 else { throw CommandFailure(.invalidSGLSegmentDescriptor) }
                    next = descriptor
                default:
                    throw CommandFailure(.sglDescriptorTypeInvalid)
                }
            }
            guard let following = next else {
                guard isLast else { throw CommandFailure(.invalidSGLSegmentDescriptor) }
                return
            }
            pointer = following
        }
    }

    private mutating func appendDataBlock(_ descriptor: SGLDescriptor, _ total: inout Int, _ length: Int, _ access: DMAAccess) throws(CommandFailure) {
        guard descriptor.subtype == 0 else { throw CommandFailure(.sglDescriptorTypeInvalid) }
        let bytes = Int(descriptor.length)
        guard bytes <= length - total else { throw CommandFailure(.dataSGLLengthInvalid) }
        total += bytes
        if bytes > 0 { try append(descriptor.address, bytes, access) }
    }

    // MARK: Translation

    private mutating func append(_ iova: UInt64, _ length: Int, _ access: DMAAccess) throws(CommandFailure) {
        let host = try translate(iova, length, access)
        if let last = segments.last, last.address + last.length == host {
            segments[segments.count - 1].length += length
        } else {
            segments.append(HostSegment(address: host, length: length))
        }
    }

    private func translate(_ iova: UInt64, _ length: Int, _ access: DMAAccess) throws(CommandFailure) -> UnsafeMutableRawPointer {
        do {
            return try iommu.translate(iova: iova, length: length, access: access)
        } catch {
            // The IOMMU has recorded the fault; the command reports it the way the spec says.
            throw CommandFailure(.dataTransferError)
        }
    }
}

/// A position in the walked segments, moving data in transfer order.
struct SegmentCursor {
    private var index = 0
    private var offset = 0

    /// Copies `count` bytes from `source` (nil: zeros) into host memory.
    mutating func write(_ segments: [HostSegment], from source: UnsafeRawPointer?, count: Int) {
        var done = 0
        while done < count {
            let segment = segments[index]
            let piece = min(count - done, segment.length - offset)
            NamespaceStorage.fill(segment.address + offset, from: source.map { $0 + done }, count: piece)
            advance(segments, piece, &done)
        }
    }

    /// Copies `count` bytes of host memory into `destination`.
    mutating func read(_ segments: [HostSegment], into destination: UnsafeMutableRawPointer, count: Int) {
        var done = 0
        while done < count {
            let segment = segments[index]
            let piece = min(count - done, segment.length - offset)
            (destination + done).copyMemory(from: segment.address + offset, byteCount: piece)
            advance(segments, piece, &done)
        }
    }

    private mutating func advance(_ segments: [HostSegment], _ piece: Int, _ done: inout Int) {
        done += piece
        offset += piece
        if offset == segments[index].length {
            index += 1
            offset = 0
        }
    }
}
