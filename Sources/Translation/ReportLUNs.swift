/// REPORT LUNS (SPC-5 6.33): one LUN per active namespace. Answered for any LUN, present or not.
enum ReportLUNs {
    static func translate(_ request: Request) throws(SenseCondition) -> TranslationPlan {
        let select = request.cdb[2]
        let allocationLength = Int(request.cdb.be32(at: 6))
        // SPC-5 6.33: an ALLOCATION LENGTH below 4 cannot even hold the LUN LIST LENGTH.
        if allocationLength < 4 { throw request.invalidLength }
        let count: Int
        switch select {
        case 0x00, 0x02: count = min(request.facts.luns.count, 16384) // all LUNs (there are no well-known ones)
        case 0x01: count = 0                                           // well-known LUNs only: none
        default: throw .invalidCDB(byte: 2)
        }
        var data = [UInt8](repeating: 0, count: 8)
        data.storeBE(UInt32(count * 8), at: 0)
        for lun in 0..<count { data += encode(lun) }
        return request.data(data, allocationLength: allocationLength)
    }

    /// The 8-byte single-level LUN (SAM-5 4.7): peripheral device addressing below 256, flat space
    /// addressing up to 16383.
    static func encode(_ lun: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 8)
        if lun < 256 {
            bytes[1] = UInt8(lun)
        } else {
            bytes[0] = 0x40 | UInt8((lun >> 8) & 0x3F)
            bytes[1] = UInt8(lun & 0xFF)
        }
        return bytes
    }
}
