import NVMe

/// UNMAP (SBC-4 5.32; Reference "UNMAP"): the parameter list becomes one Dataset Management
/// command with the Deallocate attribute.
enum Unmap {
    static func translate(_ request: Request) throws(SenseCondition) -> TranslationPlan {
        let length = Int(request.cdb.be16(at: 7))
        if length == 0 { return .respond(request.good()) }
        try request.expectData(length, .toDevice, field: 7)
        guard let dataOut = request.dataOut, dataOut.count >= length else { throw .parameterListLength }
        let data = Array(dataOut[0..<length])
        // SBC-4: a parameter list shorter than its 8-byte header is a PARAMETER LIST LENGTH ERROR.
        guard data.count >= 8 else { throw .parameterListLength }
        let dataLength = Int(data.be16(at: 0))
        let descriptorLength = Int(data.be16(at: 2))
        // The header's lengths must fit in what was sent; descriptors are 16 bytes each and a
        // partial one is refused rather than guessed at.
        if dataLength > length - 2 { throw .invalidParameter(byte: 0) }
        if descriptorLength > length - 8 || descriptorLength + 6 > dataLength || descriptorLength % 16 != 0 {
            throw .invalidParameter(byte: 2)
        }
        let facts = request.facts
        let count = descriptorLength / 16
        if count > facts.maximumDeallocateRanges { throw .invalidParameter(byte: 2) }
        var ranges: [DatasetManagementRange] = []
        var total: UInt64 = 0
        for index in 0..<count {
            let offset = 8 + 16 * index
            let lba = data.be64(at: offset)
            let blocks = data.be32(at: offset + 8)
            try request.checkRange(lba: lba, blocks: UInt64(blocks))
            total += UInt64(blocks)
            if total > UInt64(facts.maximumDeallocateBlocks) { throw .invalidParameter(byte: offset + 8) }
            if blocks > 0 {
                ranges.append(DatasetManagementRange(blockCount: blocks, startingLBA: lba))
            }
        }
        if ranges.isEmpty { return .respond(request.good()) }
        return request.execute([.deallocate(nsid: request.lu.nsid, ranges: ranges)])
    }
}
