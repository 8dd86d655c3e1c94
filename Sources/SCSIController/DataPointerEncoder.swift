import NVMe

/// How a command's data pointer is encoded.
public enum DataPointerMode: Sendable, Equatable {
    /// SGL when the controller supports it, PRP otherwise.
    case automatic
    /// Always PRP entries (PRP1, PRP2, PRP lists).
    case prp
    /// Always one SGL Data Block descriptor; refused at start when the controller lacks SGL support.
    case sgl
}

/// Encodes one contiguous IOVA range into a command's data pointer. Pure arithmetic over the
/// range plus stores into the tracker's preallocated PRP list pages: no allocation, no locks.
@usableFromInline struct DataPointerEncoder {
    /// Memory page size the controller was configured with (CC.MPS).
    @usableFromInline let pageSize: Int
    @usableFromInline let pageMask: UInt64
    /// PRP entries that fit in one list page.
    @usableFromInline let entriesPerListPage: Int
    @usableFromInline let useSGL: Bool

    init(pageSize: Int, useSGL: Bool) {
        self.pageSize = pageSize
        self.pageMask = UInt64(pageSize - 1)
        self.entriesPerListPage = pageSize / 8
        self.useSGL = useSGL
    }

    /// List pages one command of `maximumBytes` may need, chaining included: each page but the
    /// last gives its final slot to the pointer to the next page.
    static func listPagesNeeded(maximumBytes: Int, pageSize: Int) -> Int {
        // Worst case: the transfer starts one dword before a page end, so it touches one extra page.
        let entries = (maximumBytes + pageSize - 1) / pageSize + 1
        let listEntries = entries - 1  // PRP1 is in the command
        guard listEntries > 1 else { return 0 }
        let perPage = pageSize / 8
        if listEntries <= perPage { return 1 }
        return 1 + (listEntries - perPage + (perPage - 1) - 1) / (perPage - 1)
    }

    /// Fills PSDT and DPTR of `entry` for the range [iova, iova + length).
    /// `listIOVA`/`listHost` address this command's preallocated list pages (contiguous).
    @inlinable @inline(__always)
    func encode(into entry: inout SubmissionQueueEntry, iova: UInt64, length: Int,
                listIOVA: UInt64, listHost: UnsafeMutableRawPointer) {
        if useSGL {
            entry.psdt = .sglContiguousMetadata
            entry.sgl1 = SGLDescriptor(type: .dataBlock, address: iova, length: UInt32(truncatingIfNeeded: length))
            return
        }
        entry.psdt = .prp
        entry.dptr1 = iova
        let firstPageBytes = pageSize - Int(iova & pageMask)
        if length <= firstPageBytes {
            entry.dptr2 = 0
            return
        }
        let secondPage = iova + UInt64(firstPageBytes)
        let remaining = length - firstPageBytes
        if remaining <= pageSize {
            entry.dptr2 = secondPage
            return
        }
        entry.dptr2 = listIOVA
        writeList(firstPage: secondPage, pages: (remaining + pageSize - 1) / pageSize, listIOVA: listIOVA, listHost: listHost)
    }

    /// Writes `pages` page addresses into the list, chaining to the next list page whenever a
    /// page fills and entries remain.
    @inlinable
    func writeList(firstPage: UInt64, pages: Int, listIOVA: UInt64, listHost: UnsafeMutableRawPointer) {
        var slot = listHost.assumingMemoryBound(to: UInt64.self)
        var listPage = 0
        var slotInPage = 0
        var address = firstPage
        var left = pages
        while left > 0 {
            if slotInPage == entriesPerListPage - 1 && left > 1 {
                listPage += 1
                slot.pointee = (listIOVA + UInt64(listPage * pageSize)).littleEndian
                slot = (listHost + listPage * pageSize).assumingMemoryBound(to: UInt64.self)
                slotInPage = 0
                continue
            }
            slot.pointee = address.littleEndian
            slot += 1
            slotInPage += 1
            address += UInt64(pageSize)
            left -= 1
        }
    }
}
