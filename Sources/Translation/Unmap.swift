import NVMe

/// UNMAP (SBC-4 5.32; Reference "UNMAP"): the parameter list becomes Dataset Management with the
/// Deallocate attribute (the engine sends at most 256 ranges per command).
enum Unmap {
    static func translate(_ request: Request) throws(SenseCondition) -> TranslationPlan {
        let length = Int(request.cdb.be16(at: 7))
        // PARAMETER LIST LENGTH 0: nothing is sent and nothing unmapped, not an error (SBC-4 5.32.1).
        if length == 0 { return .respond(request.good()) }
        try request.expectData(length, .toDevice)
        guard let dataOut = request.dataOut, dataOut.count >= length else { throw .parameterListLength }
        let data = Array(dataOut[0..<length])
        // SBC-4 5.32.1: a parameter list shorter than its 8-byte header is a PARAMETER LIST LENGTH ERROR.
        guard data.count >= 8 else { throw .parameterListLength }
        let dataLength = Int(data.be16(at: 0))
        let descriptorLength = Int(data.be16(at: 2))
        // The header's lengths must fit in what was sent.
        if dataLength > length - 2 { throw .invalidParameter(byte: 0) }
        if descriptorLength > length - 8 || descriptorLength + 6 > dataLength { throw .invalidParameter(byte: 2) }
        // SBC-4 5.32.2: a BLOCK DESCRIPTOR DATA LENGTH that is not a multiple of 16 leaves the last
        // descriptor incomplete, and an incomplete descriptor is ignored.
        let count = descriptorLength / 16
        let facts = request.facts
        // MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT and MAXIMUM UNMAP LBA COUNT of VPD B0h, where
        // FFFFFFFFh means no limit (SBC-4 6.6.4).
        if facts.maximumDeallocateRanges < count { throw .invalidParameter(byte: 2) }
        let blockLimit = facts.maximumDeallocateBlocks == UInt32.max ? UInt64.max : UInt64(facts.maximumDeallocateBlocks)
        var ranges: [DatasetManagementRange] = []
        var total: UInt64 = 0
        for index in 0..<count {
            let offset = 8 + 16 * index
            let lba = data.be64(at: offset)
            let blocks = UInt64(data.be32(at: offset + 8))
            // SBC-4 5.32.2: out of range only when LBA + NUMBER OF LOGICAL BLOCKS exceeds the
            // capacity; a descriptor of 0 blocks unmaps nothing and is no error, even at the end.
            if blocks == 0 {
                guard lba <= request.lu.blockCount else { throw .lbaOutOfRange }
                continue
            }
            try request.checkRange(lba: lba, blocks: blocks)
            total += blocks
            if total > blockLimit { throw .invalidParameter(byte: offset + 8) }
            ranges += Self.ranges(lba: lba, blocks: blocks, facts: facts)
        }
        // The parameter list was read in full, whatever it unmaps.
        if ranges.isEmpty { return .respond(request.good(consumed: length)) }
        return request.execute([.deallocate(nsid: request.lu.nsid, ranges: ranges)], consumed: length)
    }

    /// Deallocate ranges covering lba..<lba+blocks: a run longer than one range may carry
    /// (`DeviceFacts.maximumBlocksPerDeallocateRange`) is split over consecutive ranges.
    static func ranges(lba: UInt64, blocks: UInt64, facts: DeviceFacts) -> [DatasetManagementRange] {
        let limit = UInt64(max(1, facts.maximumBlocksPerDeallocateRange))
        var ranges: [DatasetManagementRange] = []
        var start = lba, left = blocks
        while left > 0 {
            let piece = min(left, limit)
            ranges.append(DatasetManagementRange(blockCount: UInt32(piece), startingLBA: start))
            start += piece
            left -= piece
        }
        return ranges
    }
}
