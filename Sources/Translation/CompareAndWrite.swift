/// COMPARE AND WRITE (SBC-4 5.3; Reference "COMPARE AND WRITE"): a fused NVMe Compare + Write.
/// The data-out buffer holds the verify data (blocks x block size) followed by the write data.
enum CompareAndWrite {
    static func translate(_ request: Request) throws(SenseCondition) -> TranslationPlan {
        let cdb = request.cdb
        let lba = cdb.be64(at: 2)
        let blocks = UInt32(cdb[13])
        let controller = request.facts.controller
        // MAXIMUM COMPARE AND WRITE LENGTH of Block Limits: ACWU is 0's based.
        if blocks > UInt32(min(Int(controller.acwu) + 1, 255)) { throw request.invalidLength }
        try request.checkRange(lba: lba, blocks: UInt64(blocks))
        // NUMBER OF LOGICAL BLOCKS 0: nothing is compared or written, and that is not an error.
        if blocks == 0 { return .respond(request.good()) }
        let half = Int(blocks) * request.lu.blockSize
        try request.expectData(2 * half, .toDevice)
        let fua = cdb[1] & 0x08 != 0
        let compareData = request.dataOut.flatMap { $0.count >= half ? Array($0[0..<half]) : nil }
        return request.execute([.compareAndWrite(nsid: request.lu.nsid, lba: lba, blocks: blocks,
                                                 compareOffset: 0, writeOffset: half, fua: fua)],
                               compareData: compareData)
    }
}
