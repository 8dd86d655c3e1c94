/// A 64-byte submission queue entry (NVMe Base 2.0, figure "Common Command Format").
/// Stored properties are declared in wire order with natural alignment, so the struct's
/// memory layout is the wire layout (tests pin every offset) and it can be written into a
/// ring slot with one store.
public struct SubmissionQueueEntry: Sendable, Hashable, BitwiseCopyable {
    /// Command Dword 0: opcode (7:0), fused operation (9:8), PRP or SGL selection (15:14), command identifier (31:16).
    public var cdw0: UInt32 = 0
    /// Namespace Identifier.
    public var nsid: UInt32 = 0
    /// Command Dword 2 (command specific).
    public var cdw2: UInt32 = 0
    /// Command Dword 3 (command specific).
    public var cdw3: UInt32 = 0
    /// Metadata Pointer.
    public var mptr: UInt64 = 0
    /// Data Pointer, first 8 bytes: PRP Entry 1, or bytes 0-7 of SGL Entry 1.
    public var dptr1: UInt64 = 0
    /// Data Pointer, second 8 bytes: PRP Entry 2, or bytes 8-15 of SGL Entry 1.
    public var dptr2: UInt64 = 0
    /// Command Dword 10 (command specific: SLBA low for NVM I/O, CNS for Identify, QID/QSIZE for queue creation).
    public var cdw10: UInt32 = 0
    /// Command Dword 11 (command specific: SLBA high for NVM I/O, the feature value for Set Features).
    public var cdw11: UInt32 = 0
    /// Command Dword 12 (command specific: NLB, FUA, LR and DEAC for NVM I/O).
    public var cdw12: UInt32 = 0
    /// Command Dword 13 (command specific: dataset management hints for NVM I/O).
    public var cdw13: UInt32 = 0
    /// Command Dword 14 (command specific: expected initial logical block reference tag).
    public var cdw14: UInt32 = 0
    /// Command Dword 15 (command specific: expected logical block application tag and mask).
    public var cdw15: UInt32 = 0

    /// An all-zero entry: opcode 00h, no namespace, no data pointer.
    public init() {}

    /// Wire size in bytes.
    public static let size = 64

    /// Opcode (CDW0 bits 7:0).
    @inlinable public var opcode: UInt8 {
        get { UInt8(truncatingIfNeeded: cdw0) }
        set { cdw0 = setting(cdw0, 0, 8, to: UInt32(newValue)) }
    }
    /// Fused Operation (CDW0 bits 9:8).
    @inlinable public var fuse: FusedOperation {
        get { FusedOperation(rawValue: UInt8(bits(cdw0, 8, 2))) ?? .normal }
        set { cdw0 = setting(cdw0, 8, 2, to: UInt32(newValue.rawValue)) }
    }
    /// PRP or SGL for Data Transfer (CDW0 bits 15:14).
    @inlinable public var psdt: DataPointerKind {
        get { DataPointerKind(rawValue: UInt8(bits(cdw0, 14, 2))) ?? .prp }
        set { cdw0 = setting(cdw0, 14, 2, to: UInt32(newValue.rawValue)) }
    }
    /// Fused Operation (CDW0 bits 9:8) as the host wrote it: nil for the reserved 11b, which
    /// `fuse` reads as `.normal`. A controller validating a command checks this one.
    @inlinable public var declaredFuse: FusedOperation? {
        FusedOperation(rawValue: UInt8(bits(cdw0, 8, 2)))
    }
    /// PRP or SGL for Data Transfer (CDW0 bits 15:14) as the host wrote it: nil for the reserved
    /// 11b, which `psdt` reads as `.prp`. A controller validating a command checks this one.
    @inlinable public var declaredDataPointer: DataPointerKind? {
        DataPointerKind(rawValue: UInt8(bits(cdw0, 14, 2)))
    }
    /// Command Identifier (CDW0 bits 31:16), unique among the commands outstanding on one queue.
    @inlinable public var commandID: UInt16 {
        get { UInt16(truncatingIfNeeded: cdw0 >> 16) }
        set { cdw0 = setting(cdw0, 16, 16, to: UInt32(newValue)) }
    }

    /// Starting LBA of NVM Read/Write/Compare/Write Zeroes/Verify (CDW10 low, CDW11 high).
    @inlinable public var startingLBA: UInt64 {
        get { UInt64(cdw11) << 32 | UInt64(cdw10) }
        set { cdw10 = UInt32(truncatingIfNeeded: newValue); cdw11 = UInt32(truncatingIfNeeded: newValue >> 32) }
    }
    /// Number of Logical Blocks, 0's based (CDW12 bits 15:0). Use `blockCount` for a plain count.
    @inlinable public var nlb: UInt16 {
        get { UInt16(truncatingIfNeeded: cdw12) }
        set { cdw12 = setting(cdw12, 0, 16, to: UInt32(newValue)) }
    }
    /// Number of logical blocks as a count, 1...65536 (`CommandLimits.blocksPerCommand`).
    ///
    /// Set on the hot path, so it neither checks nor traps: a count outside the range is clamped
    /// into it (0 becomes 1, 70000 becomes 65536) rather than wrapping into another length.
    /// Callers check untrusted counts where they enter, with `CommandLimits.check`.
    @inlinable public var blockCount: Int {
        get { Int(nlb) + 1 }
        set { nlb = UInt16(truncatingIfNeeded: CommandLimits.clamp(newValue, to: CommandLimits.blocksPerCommand) - 1) }
    }
    /// Force Unit Access (CDW12 bit 30).
    @inlinable public var fua: Bool {
        get { bits(cdw12, 30, 1) == 1 }
        set { cdw12 = setting(cdw12, 30, 1, to: newValue ? 1 : 0) }
    }
    /// Limited Retry (CDW12 bit 31).
    @inlinable public var limitedRetry: Bool {
        get { bits(cdw12, 31, 1) == 1 }
        set { cdw12 = setting(cdw12, 31, 1, to: newValue ? 1 : 0) }
    }
    /// Deallocate (Write Zeroes CDW12 bit 25).
    @inlinable public var deallocate: Bool {
        get { bits(cdw12, 25, 1) == 1 }
        set { cdw12 = setting(cdw12, 25, 1, to: newValue ? 1 : 0) }
    }

    /// An SGL descriptor in the Data Pointer field.
    @inlinable public var sgl1: SGLDescriptor {
        get { SGLDescriptor(low: dptr1, high: dptr2) }
        set { dptr1 = newValue.low; dptr2 = newValue.high }
    }
}

/// The hot path's builders: the NVM I/O command (here) and its data pointer (`DataPointerEncoder`), the two parts of an entry
/// every read and write needs (the other commands' builders are in CommandBuilders.swift).
extension SubmissionQueueEntry {
    /// NVM Read, Write, Compare or Verify of `blocks` blocks at `lba`.
    ///
    /// The per-I/O builder: no check, no trap. `blocks` must lie in `CommandLimits.blocksPerCommand`
    /// (check it where the request enters, with `CommandLimits.check`); a value outside is clamped
    /// into it, as `blockCount` documents.
    @inlinable
    public static func io(_ opcode: NVMOpcode, nsid: UInt32, lba: UInt64, blocks: Int, fua: Bool = false) -> Self {
        var entry = Self()
        entry.opcode = opcode.rawValue
        entry.nsid = nsid
        entry.startingLBA = lba
        entry.blockCount = blocks
        entry.fua = fua
        return entry
    }
}

/// Encodes one contiguous IOVA range into a command's data pointer (PSDT and DPTR): one SGL Data
/// Block descriptor, or PRP1 and PRP2, with a PRP list once the range touches more than two memory
/// pages. Pure arithmetic plus stores into the command's preallocated list pages: no allocation,
/// no locks.
public struct DataPointerEncoder: Sendable {
    /// Memory page size the controller was configured with (CC.MPS).
    public let pageSize: Int
    @usableFromInline let pageMask: UInt64
    /// log2 of `pageSize` (a power of two).
    @usableFromInline let pageShift: Int
    /// PRP entries that fit in one list page.
    @usableFromInline let entriesPerListPage: Int
    /// Whether ranges become SGL descriptors rather than PRPs.
    public let useSGL: Bool
    /// CDW0's PSDT bits (15:14) for this kind of pointer.
    @usableFromInline let psdtBits: UInt32
    /// A range needs nothing but DPTR filled in place when its start under this mask plus its
    /// length is at most `inPlaceLimit`: for PRPs, when it lies in PRP1's page (offset in the
    /// page plus length at most a page); for an SGL descriptor, always (0 plus any length).
    @usableFromInline let inPlaceMask: UInt64
    @usableFromInline let inPlaceLimit: UInt64
    /// DPTR's second half for such a range is its length under this mask: an SGL Data Block
    /// descriptor's length (its type and subtype are 0), or PRP2 = 0.
    @usableFromInline let lengthMask: UInt64

    /// An encoder for `pageSize` (a power of two, CC.MPS) and the controller's data pointer kind.
    public init(pageSize: Int, useSGL: Bool) {
        self.pageSize = pageSize
        self.pageMask = UInt64(pageSize - 1)
        self.pageShift = pageSize.trailingZeroBitCount
        self.entriesPerListPage = PRP.entriesPerListPage(pageSize: pageSize)
        self.useSGL = useSGL
        psdtBits = UInt32(useSGL ? DataPointerKind.sglContiguousMetadata.rawValue : DataPointerKind.prp.rawValue) << 14
        inPlaceMask = useSGL ? 0 : pageMask
        inPlaceLimit = useSGL ? .max : UInt64(pageSize)
        lengthMask = useSGL ? 0xFFFF_FFFF : 0
    }

    /// List pages one command of `maximumBytes` may need, chaining included: each page but the
    /// last gives its final slot to the pointer to the next page.
    public static func listPagesNeeded(maximumBytes: Int, pageSize: Int) -> Int {
        // Worst case: the transfer starts one dword before a page end, so it touches one extra page.
        let entries = (maximumBytes + pageSize - 1) / pageSize + 1
        let listEntries = entries - 1  // PRP1 is in the command
        guard listEntries > 1 else { return 0 }
        let perPage = PRP.entriesPerListPage(pageSize: pageSize)
        if listEntries <= perPage { return 1 }
        return 1 + (listEntries - perPage + (perPage - 1) - 1) / (perPage - 1)
    }

    /// Fills PSDT and DPTR of `entry` for the range [iova, iova + length).
    /// `listIOVA`/`listHost` address this command's preallocated list pages (contiguous), used
    /// only when the range needs a PRP list.
    @inlinable @inline(__always)
    public func encode(into entry: inout SubmissionQueueEntry, iova: UInt64, length: Int,
                       listIOVA: UInt64, listHost: UnsafeMutableRawPointer) {
        if !encodeInPlace(into: &entry, iova: iova, length: length) {
            entry.dptr2 = prp2(iova: iova, length: length, listIOVA: listIOVA, listHost: listHost)
        }
    }

    /// Fills PSDT and DPTR of `entry` for [iova, iova + length) when that takes no more than the
    /// entry itself - always for an SGL descriptor, for PRPs when the range lies in PRP1's page -
    /// and returns true. Otherwise it fills PSDT and PRP1 and returns false: PRP2 is then
    /// `prp2(...)`. SGL and PRP share this one branch (see `inPlaceMask`), so the hot path carries
    /// no per-kind branch. Lengths are at most the queue's maximum command size: wrapping
    /// arithmetic drops only overflow traps that cannot fire.
    @inlinable @inline(__always)
    public func encodeInPlace(into entry: inout SubmissionQueueEntry, iova: UInt64, length: Int) -> Bool {
        entry.cdw0 = entry.cdw0 & ~0xC000 | psdtBits
        entry.dptr1 = iova
        guard _fastPath(iova & inPlaceMask &+ UInt64(truncatingIfNeeded: length) <= inPlaceLimit) else { return false }
        entry.dptr2 = UInt64(truncatingIfNeeded: length) & lengthMask
        return true
    }

    /// PRP2 for a range [iova, iova + length) that leaves PRP1's page: the next page's address
    /// when the range ends there, else the list's address, after writing into the list (at
    /// `listIOVA`, mapped at `listHost`) every page after the first.
    public func prp2(iova: UInt64, length: Int, listIOVA: UInt64, listHost: UnsafeMutableRawPointer) -> UInt64 {
        let last = iova &+ UInt64(truncatingIfNeeded: length) &- 1
        let secondPage = (iova | pageMask) &+ 1
        if secondPage ^ last <= pageMask { return secondPage }
        let pages = (last &>> UInt64(truncatingIfNeeded: pageShift)) &- (iova &>> UInt64(truncatingIfNeeded: pageShift))
        writeList(firstPage: secondPage, pages: Int(truncatingIfNeeded: pages), listIOVA: listIOVA, listHost: listHost)
        return listIOVA
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

/// CDW0 FUSE values.
public enum FusedOperation: UInt8, Sendable {
    /// 00b: a normal, unfused command.
    case normal = 0b00
    /// 01b: the first command of a fused pair (Compare of Compare and Write).
    case first = 0b01
    /// 10b: the second command of a fused pair (Write of Compare and Write).
    case second = 0b10
}

/// CDW0 PSDT values.
public enum DataPointerKind: UInt8, Sendable {
    /// PRPs are used for this transfer.
    case prp = 0b00
    /// SGLs are used; the metadata pointer addresses a contiguous buffer.
    case sglContiguousMetadata = 0b01
    /// SGLs are used; the metadata pointer addresses an SGL segment.
    case sglMetadataSegment = 0b10
}
