import Testing
import NVMe
@testable import SCSIController

/// PRP rules from NVMe Base 2.0 section 4.1.1 ("Physical Region Page Entry and List"): PRP1 may
/// carry an offset; PRP2 is either the second page (transfer fits in two pages) or a PRP list
/// pointer; list entries are page aligned; the last entry of a full list page points to the next list.
@Suite struct DataPointerEncoderTests {
    let page = 4096
    let listIOVA: UInt64 = 0x7_0000_0000

    /// Encodes and returns the entry plus the list entries written (following chains).
    func encode(iova: UInt64, length: Int) -> (SubmissionQueueEntry, [UInt64]) {
        let encoder = DataPointerEncoder(pageSize: page, useSGL: false)
        let pages = DataPointerEncoder.listPagesNeeded(maximumBytes: length, pageSize: page)
        let list = UnsafeMutableRawPointer.allocate(byteCount: max(1, pages) * page, alignment: page)
        defer { list.deallocate() }
        var entry = SubmissionQueueEntry()
        encoder.encode(into: &entry, iova: iova, length: length, listIOVA: listIOVA, listHost: list)
        guard entry.dptr2 == listIOVA else { return (entry, []) }
        // Walk the list like a controller: entry count from the transfer, chaining on the last slot.
        let firstPageBytes = page - Int(iova % UInt64(page))
        var needed = (length - firstPageBytes + page - 1) / page
        var result: [UInt64] = []
        var listPage = 0
        var slot = 0
        while needed > 0 {
            let value = list.load(fromByteOffset: listPage * page + slot * 8, as: UInt64.self)
            if slot == page / 8 - 1 && needed > 1 {
                #expect(value == listIOVA + UInt64((listPage + 1) * page), "chain pointer must address the next list page")
                listPage += 1
                slot = 0
                continue
            }
            result.append(value)
            slot += 1
            needed -= 1
        }
        return (entry, result)
    }

    @Test func offsetInsideTheFirstPageFitsInPRP1() {
        let (entry, list) = encode(iova: 0x10_0200, length: 512)
        #expect(entry.psdt == .prp)
        #expect(entry.dptr1 == 0x10_0200)
        #expect(entry.dptr2 == 0)
        #expect(list.isEmpty)
    }

    @Test func exactlyOnePage() {
        let (entry, _) = encode(iova: 0x10_0000, length: 4096)
        #expect(entry.dptr1 == 0x10_0000 && entry.dptr2 == 0)
    }

    @Test func twoPagesUsePRP2AsThePageAddress() {
        let (entry, _) = encode(iova: 0x10_0000, length: 8192)
        #expect(entry.dptr1 == 0x10_0000)
        #expect(entry.dptr2 == 0x10_1000)
        // An offset transfer spanning two pages: PRP2 is the page-aligned second page.
        let (offset, _) = encode(iova: 0x10_0800, length: 4096)
        #expect(offset.dptr1 == 0x10_0800 && offset.dptr2 == 0x10_1000)
    }

    @Test func threePagesUseAList() {
        let (entry, list) = encode(iova: 0x10_0000, length: 3 * 4096)
        #expect(entry.dptr2 == listIOVA)
        #expect(list == [0x10_1000, 0x10_2000])
    }

    @Test func listChainsAtItsPageBoundary() {
        // 513 list entries: 511 in the first list page, its slot 511 chains, 2 in the second.
        let length = 4096 + 513 * 4096
        let (entry, list) = encode(iova: 0x4000_0000, length: length)
        #expect(entry.dptr2 == listIOVA)
        #expect(list.count == 513)
        for (index, address) in list.enumerated() {
            #expect(address == 0x4000_0000 + UInt64((index + 1) * 4096))
        }
    }

    @Test func exactlyFullListPageDoesNotChain() {
        // 512 list entries fit one list page exactly: the last slot is data, not a chain.
        let (_, list) = encode(iova: 0x4000_0000, length: 4096 + 512 * 4096)
        #expect(list.count == 512)
        #expect(list.last == 0x4000_0000 + 512 * 4096)
    }

    @Test func listPagesNeededForMDTS() {
        #expect(DataPointerEncoder.listPagesNeeded(maximumBytes: 4096, pageSize: 4096) == 0)
        #expect(DataPointerEncoder.listPagesNeeded(maximumBytes: 8192, pageSize: 4096) == 1)  // offset case needs a list
        #expect(DataPointerEncoder.listPagesNeeded(maximumBytes: 2 << 20, pageSize: 4096) == 1)  // 513 pages touched, 512 in the list
        #expect(DataPointerEncoder.listPagesNeeded(maximumBytes: (2 << 20) + 4096, pageSize: 4096) == 2)  // 513 list entries chain
        #expect(DataPointerEncoder.listPagesNeeded(maximumBytes: 4 << 20, pageSize: 4096) == 3)
    }

    /// The PRP entries NVMe Base 2.0 4.1.1 prescribes for [iova, iova + length), derived from the
    /// pages the range touches and nothing else: PRP1 is the start address with its offset; every
    /// later page touched follows, page aligned, in order. With one later page PRP2 holds it;
    /// with more, PRP2 points to a list holding them all.
    static func specPRPEntries(iova: UInt64, length: Int, page: Int) -> [UInt64] {
        let size = UInt64(page)
        let first = iova / size * size
        let last = (iova + UInt64(length) - 1) / size * size
        return [iova] + Array(stride(from: first + size, through: last, by: Int(size)))
    }

    /// Offsets a DMA buffer may start at (dword aligned, PRP1 bits 1:0 are 00b) and lengths that
    /// are not whole pages, around every boundary: inside one page, one byte into the second and
    /// third page, one byte short of and past a full list page (512 entries) and a chain.
    static let oddCases: [(offset: Int, length: Int)] = {
        let offsets = [0, 4, 0x200, 0x7FC, 0xFFC]
        let lengths = [1, 3, 511, 513, 4095, 4097, 8191, 8193, 12_289, 511 * 4096 + 7, 512 * 4096 + 1, 513 * 4096 - 3, 513 * 4096 + 5]
        return offsets.flatMap { offset in lengths.map { (offset: offset, length: $0) } }
    }()

    @Test(arguments: oddCases)
    func oddLengthsAndOffsetsFollowThePRPRules(offset: Int, length: Int) {
        let iova = 0x2_4000_0000 + UInt64(offset)
        let (entry, list) = encode(iova: iova, length: length)
        let spec = Self.specPRPEntries(iova: iova, length: length, page: page)
        #expect(entry.psdt == .prp)
        #expect(entry.dptr1 == spec[0])
        switch spec.count {
        case 1: #expect(entry.dptr2 == 0)
        case 2: #expect(entry.dptr2 == spec[1])
        default:
            #expect(entry.dptr2 == listIOVA)
            #expect(list == Array(spec.dropFirst()))
        }
    }

    @Test func handComputedOddCases() {
        // 3 bytes at offset FFCh: all in the first page (FFCh + 3 = FFFh < 1000h).
        #expect(encode(iova: 0x10_0FFC, length: 3).0.dptr2 == 0)
        // 5 bytes at offset FFCh: 4 in the first page, 1 in the next: PRP2 = 10_1000h.
        #expect(encode(iova: 0x10_0FFC, length: 5).0.dptr2 == 0x10_1000)
        // 4097 bytes from offset 0: pages 10_0000h and 10_1000h, one byte in the second.
        #expect(encode(iova: 0x10_0000, length: 4097).0.dptr2 == 0x10_1000)
        // 4101 bytes from offset FFCh: 4 + 4096 + 1 bytes, so a list of 10_1000h and 10_2000h.
        let (entry, list) = encode(iova: 0x10_0FFC, length: 4101)
        #expect(entry.dptr1 == 0x10_0FFC && entry.dptr2 == listIOVA)
        #expect(list == [0x10_1000, 0x10_2000])
        // 4 + 512 x 4096 + 1 bytes from offset FFCh: 513 list entries, so the first list page's
        // last slot chains to the second list page (checked by `encode`), which holds 2.
        #expect(encode(iova: 0x10_0FFC, length: 4 + 512 * 4096 + 1).1.count == 513)
    }

    /// The tracker reserves `listPagesNeeded(maximumBytes:)` list pages per command; for every
    /// dword offset in a page and every length up to the maximum, the encoder must stay inside them.
    @Test(arguments: [4096, 8192, 64 << 10, (2 << 20) + 4096])
    func theListNeverOutgrowsItsReservation(maximumBytes: Int) {
        let reserved = DataPointerEncoder.listPagesNeeded(maximumBytes: maximumBytes, pageSize: page)
        let encoder = DataPointerEncoder(pageSize: page, useSGL: false)
        let canary: UInt8 = 0xA5
        let host = UnsafeMutableRawPointer.allocate(byteCount: (reserved + 1) * page, alignment: page)
        defer { host.deallocate() }
        for offset in stride(from: 0, to: page, by: 4) {
            for length in [maximumBytes, maximumBytes - 1, maximumBytes - 4093] where length > 0 {
                host.initializeMemory(as: UInt8.self, repeating: canary, count: (reserved + 1) * page)
                var entry = SubmissionQueueEntry()
                encoder.encode(into: &entry, iova: 0x8000_0000 + UInt64(offset), length: length, listIOVA: listIOVA, listHost: host)
                let spill = UnsafeRawBufferPointer(start: host + reserved * page, count: page)
                if !spill.allSatisfy({ $0 == canary }) {
                    Issue.record("offset \(offset), length \(length): list written past \(reserved) reserved pages")
                    return
                }
            }
        }
    }

    @Test func sglUsesOneDataBlockDescriptor() {
        let encoder = DataPointerEncoder(pageSize: page, useSGL: true)
        var entry = SubmissionQueueEntry()
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 8)
        defer { scratch.deallocate() }
        encoder.encode(into: &entry, iova: 0x12_3404, length: 1 << 20, listIOVA: 0, listHost: scratch)
        #expect(entry.psdt == .sglContiguousMetadata)  // PSDT 01b
        #expect(entry.dptr1 == 0x12_3404)
        #expect(entry.sgl1.type == .dataBlock)
        #expect(entry.sgl1.length == 1 << 20)
    }
}
