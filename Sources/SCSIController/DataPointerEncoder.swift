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
    /// log2 of `pageSize` (a power of two).
    @usableFromInline let pageShift: Int
    /// PRP entries that fit in one list page.
    @usableFromInline let entriesPerListPage: Int
    @usableFromInline let useSGL: Bool

    init(pageSize: Int, useSGL: Bool) {
        self.pageSize = pageSize
        self.pageMask = UInt64(pageSize - 1)
        self.pageShift = pageSize.trailingZeroBitCount
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
        encode(into: &entry, iova: iova, length: length) { (listIOVA, listHost) }
    }

    /// `encode`, with the command's list pages given by `list`, which is called only when the
    /// range needs a PRP list: a caller that works the list address out (the queue pair, from
    /// its tracker) pays for it only then.
    @inlinable @inline(__always)
    func encode(into entry: inout SubmissionQueueEntry, iova: UInt64, length: Int,
                list: () -> (iova: UInt64, host: UnsafeMutableRawPointer)) {
        if useSGL {
            entry.psdt = .sglContiguousMetadata
            entry.sgl1 = SGLDescriptor(type: .dataBlock, address: iova, length: UInt32(truncatingIfNeeded: length))
            return
        }
        entry.psdt = .prp
        entry.dptr1 = iova
        // Lengths are at most the queue's maximum command size and offsets below a page:
        // wrapping arithmetic drops only overflow traps that cannot fire.
        let firstPageBytes = pageSize &- Int(truncatingIfNeeded: iova & pageMask)
        if length <= firstPageBytes {
            entry.dptr2 = 0
            return
        }
        let secondPage = iova &+ UInt64(truncatingIfNeeded: firstPageBytes)
        let remaining = length &- firstPageBytes
        if remaining <= pageSize {
            entry.dptr2 = secondPage
            return
        }
        let (listIOVA, listHost) = list()
        entry.dptr2 = listIOVA
        writeList(firstPage: secondPage, pages: (remaining &+ pageSize &- 1) >> pageShift, listIOVA: listIOVA, listHost: listHost)
    }

    /// Writes `pages` page addresses into the list: a list page at a time, each but the last
    /// filled up to its final slot, which then points to the next list page. The entry loop is a
    /// store and two additions; counts and addresses are bounded by the tracker's list pages
    /// (sized at bring-up for the largest command), so wrapping arithmetic drops only traps that
    /// cannot fire.
    @inlinable
    func writeList(firstPage: UInt64, pages: Int, listIOVA: UInt64, listHost: UnsafeMutableRawPointer) {
        let step = UInt64(truncatingIfNeeded: pageSize)
        var address = firstPage
        var left = pages
        var listPage = listHost.assumingMemoryBound(to: UInt64.self)
        var nextListIOVA = listIOVA
        while left > entriesPerListPage {
            let end = listPage + (entriesPerListPage &- 1)
            var slot = listPage
            while slot != end {
                slot.pointee = address.littleEndian
                address &+= step
                slot += 1
            }
            left &-= entriesPerListPage &- 1
            nextListIOVA &+= step
            end.pointee = nextListIOVA.littleEndian
            listPage = UnsafeMutableRawPointer(listPage).advanced(by: pageSize).assumingMemoryBound(to: UInt64.self)
        }
        let end = listPage + left
        var slot = listPage
        while slot != end {
            slot.pointee = address.littleEndian
            address &+= step
            slot += 1
        }
    }
}
