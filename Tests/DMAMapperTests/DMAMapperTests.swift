#if canImport(Glibc)
import Glibc
#endif
import DMAMapper
import PCIDevice
import Testing

@Suite struct DMAMapperTests {
    static let mib = 1 << 20
    static let gib = 1 << 30

    @Test func oneGiBBufferIsOneSegment() throws {
        let iommu = SoftwareIOMMU()
        // Not pinned: mlock would fault in every page of the sparse gigabyte.
        let mapper = try DMAMapper(iommu: iommu, pinning: .disabled)
        let buffer = try mapper.allocate(length: Self.gib)
        #expect(buffer.length == Self.gib)
        #expect(buffer.iova % UInt64(2 * Self.mib) == 0)
        #expect(iommu.mappingCount == 1)
        // The whole gigabyte translates as one range, and so does each end of it.
        #expect(try iommu.translate(iova: buffer.iova, length: Self.gib, access: .readWrite) == buffer.address)
        let tail = buffer.address + (Self.gib - 8)
        tail.storeBytes(of: 0x1122_3344_5566_7788, as: UInt64.self)
        let seen = try iommu.translate(iova: buffer.iova + UInt64(Self.gib - 8), length: 8, access: .deviceReads)
        #expect(seen.load(as: UInt64.self) == 0x1122_3344_5566_7788)
    }

    @Test func smallBuffersArePageAlignedAndZeroFilled() throws {
        let iommu = SoftwareIOMMU()
        let mapper = try DMAMapper(iommu: iommu)
        let buffers = try (0..<8).map { _ in try mapper.allocate(length: 4096) }
        for buffer in buffers {
            #expect(buffer.iova % 4096 == 0)
            #expect(UInt(bitPattern: buffer.address) % 4096 == 0)
            #expect(buffer.bytes.allSatisfy { $0 == 0 })
        }
        #expect(Set(buffers.map(\.iova)).count == 8)
        #expect(iommu.mappingCount == 8)
    }

    @Test func oddLengthKeepsTheAskedLengthButMapsWholePages() throws {
        let iommu = SoftwareIOMMU()
        let mapper = try DMAMapper(iommu: iommu)
        let buffer = try mapper.allocate(length: 5000, access: .deviceReads)
        #expect(buffer.length == 5000)
        #expect(buffer.access == .deviceReads)
        _ = try iommu.translate(iova: buffer.iova, length: 8192, access: .deviceReads)
        #expect(throws: DMAFault(iova: buffer.iova, length: 8, access: .deviceWrites, reason: .accessDenied)) {
            try iommu.translate(iova: buffer.iova, length: 8, access: .deviceWrites)
        }
    }

    @Test func hostWritesAreVisibleThroughTranslate() throws {
        let iommu = SoftwareIOMMU()
        let mapper = try DMAMapper(iommu: iommu)
        let buffer = try mapper.allocate(length: 64 * 1024)
        for index in 0..<(buffer.length / 8) {
            buffer.address.storeBytes(of: UInt64(index) &* 0x9E37_79B9, toByteOffset: index * 8, as: UInt64.self)
        }
        let device = try iommu.translate(iova: buffer.iova + 0x3000, length: 0x1000, access: .deviceReads)
        #expect(device.load(fromByteOffset: 16, as: UInt64.self) == UInt64(0x3000 / 8 + 2) &* 0x9E37_79B9)
        // And the other way: what the device writes, the host reads.
        let target = try iommu.translate(iova: buffer.iova + 0x8000, length: 4, access: .deviceWrites)
        target.storeBytes(of: 0xFEED_F00D, as: UInt32.self)
        #expect(buffer.address.load(fromByteOffset: 0x8000, as: UInt32.self) == 0xFEED_F00D)
    }

    @Test func deinitUnmapsAndReturnsTheIOVA() throws {
        let iommu = SoftwareIOMMU()
        let mapper = try DMAMapper(iommu: iommu)
        let freeBefore = mapper.freeIOVABytes
        var iova: UInt64 = 0
        do {
            let buffer = try mapper.allocate(length: 3 * 4096)
            iova = buffer.iova
            _ = try iommu.translate(iova: iova, length: 4096, access: .deviceReads)
            #expect(mapper.freeIOVABytes == freeBefore - 3 * 4096)
            withExtendedLifetime(buffer) {}
        }
        #expect(iommu.mappingCount == 0)
        #expect(mapper.freeIOVABytes == freeBefore)
        #expect(throws: DMAFault(iova: iova, length: 4096, access: .deviceReads, reason: .unmapped)) {
            try iommu.translate(iova: iova, length: 4096, access: .deviceReads)
        }
    }

    @Test func thirtyTwoBitMapperYieldsIOVAsBelow4GiB() throws {
        let iommu = SoftwareIOMMU(iovaRanges: [IOVARange(first: 0, last: 0xFEDF_FFFF), IOVARange(first: 0xFEF0_0000, last: .max)])
        let mapper = try DMAMapper(iommu: iommu, addressableBits: 32, pinning: .disabled)
        #expect(mapper.addressableBits == 32)
        #expect(mapper.iovaRanges.allSatisfy { $0.last < 1 << 32 })
        var buffers: [DMABuffer] = []
        for length in [4096, 2 * Self.mib, Self.gib, Self.gib, Self.gib, 4096] {
            let buffer = try mapper.allocate(length: length)
            #expect(buffer.iova + UInt64(length) - 1 < 1 << 32)
            buffers.append(buffer)
        }
        // Less than 4 GiB remains addressable, so a fourth gigabyte cannot fit.
        let error = #expect(throws: DMAMapperError.self) { try mapper.allocate(length: Self.gib) }
        guard case .iova(.exhausted(length: Self.gib, _, _))? = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func mapperOverRangesAbove4GiBWith32BitsIsAnError() {
        let iommu = SoftwareIOMMU(iovaRanges: [IOVARange(first: 1 << 32, last: .max)])
        #expect(throws: DMAMapperError.iova(.noUsableRange(ranges: iommu.iovaRanges, addressableBits: 32))) {
            try DMAMapper(iommu: iommu, addressableBits: 32)
        }
    }

    @Test func pinnedAndNUMAPlacedBuffers() throws {
        let iommu = SoftwareIOMMU()
        // Node 0 exists wherever libnuma works; elsewhere the request is logged and ignored.
        let mapper = try DMAMapper(iommu: iommu, numaNode: 0, pinning: .bestEffort)
        let buffer = try mapper.allocate(length: 4 * Self.mib)
        #expect(buffer.iova % UInt64(2 * Self.mib) == 0)
        // Root may lock any amount; others may lack the RLIMIT_MEMLOCK (the mapper logs why).
        if geteuid() == 0 { #expect(buffer.isPinned) }
        buffer.address.storeBytes(of: 7, toByteOffset: 3 * Self.mib, as: UInt8.self)
        #expect(try iommu.translate(iova: buffer.iova + UInt64(3 * Self.mib), length: 1, access: .deviceReads)
            .load(as: UInt8.self) == 7)
    }

    @Test func invalidRequestsAreErrors() throws {
        let iommu = SoftwareIOMMU()
        #expect(throws: DMAMapperError.invalidPageSize(3000)) { try DMAMapper(iommu: iommu, pageSize: 3000) }
        let mapper = try DMAMapper(iommu: iommu)
        #expect(throws: DMAMapperError.invalidLength(0)) { try mapper.allocate(length: 0) }
        #expect(throws: DMAMapperError.invalidLength(-1)) { try mapper.allocate(length: -1) }
    }

    @Test func hugeLengthsAreErrorsNotTraps() throws {
        // `ctrlbench scsi --request 9223372036854775807` asks for Int.max bytes.
        let iommu = SoftwareIOMMU()
        let mapper = try DMAMapper(iommu: iommu, pinning: .disabled)
        let freeBefore = mapper.freeIOVABytes
        let maximum = Int.max / 4096 * 4096
        #expect(throws: DMAMapperError.lengthTooLarge(Int.max, maximum: maximum)) { try mapper.allocate(length: Int.max) }
        #expect(throws: DMAMapperError.lengthTooLarge(maximum + 1, maximum: maximum)) { try mapper.allocate(length: maximum + 1) }
        #expect(DMAMapperError.lengthTooLarge(Int.max, maximum: maximum).description.contains("\(Int.max)"))
        // The largest length that rounds: no IOVA window or memory holds 2^63 bytes, and that is an error too.
        #expect(throws: (any Error).self) { try mapper.allocate(length: maximum) }
        #expect(throws: (any Error).self) { try mapper.allocate(length: 1 << 62) }
        #expect(mapper.freeIOVABytes == freeBefore && iommu.mappingCount == 0, "a failed allocation leaves nothing behind")
        // A mapper with 64 KiB pages rounds to its own page size.
        let large = try DMAMapper(iommu: SoftwareIOMMU(), pageSize: 65536, pinning: .disabled)
        #expect(throws: DMAMapperError.lengthTooLarge(Int.max - 100, maximum: Int.max / 65536 * 65536)) {
            try large.allocate(length: Int.max - 100)
        }
    }

    @Test func aNegativeTranslationLengthIsAFaultNotATrap() throws {
        let iommu = SoftwareIOMMU()
        let mapper = try DMAMapper(iommu: iommu, pinning: .disabled)
        let buffer = try mapper.allocate(length: 4096)
        let fault = DMAFault(iova: buffer.iova, length: -8, access: .deviceReads, reason: .negativeLength)
        #expect(throws: fault) { try iommu.translate(iova: buffer.iova, length: -8, access: .deviceReads) }
        #expect(iommu.faults == [fault])
        #expect(fault.description.contains("negative length"))
    }
}
