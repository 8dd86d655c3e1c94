/// MODE SELECT (6) and (10) (SPC-5 6.11, 6.12): WCE of the caching page becomes Set Features
/// (Volatile Write Cache), a change every LUN sees; D_SENSE of the control page is kept in the
/// unit's state. Every other field must keep its current value.
enum ModeSelect {
    static func translate(_ request: Request, state: inout LogicalUnitState) throws(SenseCondition) -> TranslationPlan {
        let cdb = request.cdb
        let long = cdb[0] == Opcode.modeSelect10
        // PF=0 would mean vendor-specific page formats; SP=1 asks for saving, which is unsupported.
        if cdb[1] & 0x10 == 0 { throw .invalidCDB(byte: 1, bit: 4) }
        if cdb[1] & 0x01 != 0 { throw .invalidCDB(byte: 1, bit: 0) }
        let length = long ? Int(cdb.be16(at: 7)) : Int(cdb[4])
        if length == 0 { return .respond(request.good()) }
        try request.expectData(length, .toDevice)
        guard let dataOut = request.dataOut, dataOut.count >= length else { throw .parameterListLength }
        let data = Array(dataOut[0..<length])

        let headerLength = long ? 8 : 4
        guard data.count >= headerLength else { throw .parameterListLength }
        let mediumType = long ? 2 : 1
        if data[mediumType] != 0 { throw .invalidParameter(byte: mediumType) }
        let descriptorLength = long ? Int(data.be16(at: 6)) : Int(data[3])
        let longLBA = long && data[4] & 0x01 != 0
        guard descriptorLength == 0 || descriptorLength == (longLBA ? 16 : 8) else {
            throw .invalidParameter(byte: long ? 6 : 3)
        }
        guard data.count >= headerLength + descriptorLength else { throw .parameterListLength }
        if descriptorLength > 0 { try checkBlockDescriptor(data, at: headerLength, long: longLBA, unit: request.lu) }

        var newWCE: Bool?
        var newDSense: Bool?
        var offset = headerLength + descriptorLength
        while offset < data.count {
            if data[offset] & 0x80 != 0 { throw .invalidParameter(byte: offset, bit: 7) }   // PS is reserved here
            if data[offset] & 0x40 != 0 { throw .invalidParameter(byte: offset, bit: 6) }   // no subpages
            guard offset + 2 <= data.count else { throw .parameterListLength }
            let pageLength = Int(data[offset + 1]) + 2
            guard offset + pageLength <= data.count else { throw .parameterListLength }
            let page = Array(data[offset..<(offset + pageLength)])
            let current: [UInt8], changeable: [UInt8]
            switch page[0] {
            case ModePages.caching:
                current = ModePages.cachingPage(.current, request)
                changeable = ModePages.cachingPage(.changeable, request)
            case ModePages.control:
                current = ModePages.controlPage(.current, state: state)
                changeable = ModePages.controlPage(.changeable, state: state)
            default:
                throw .invalidParameter(byte: offset, bit: 5)
            }
            guard page.count == current.count else { throw .invalidParameter(byte: offset + 1) }
            for index in 2..<page.count {
                let stray = (page[index] ^ current[index]) & ~changeable[index]
                if stray != 0 { throw .invalidParameter(byte: offset + index, bit: 7 - stray.leadingZeroBitCount) }
            }
            if page[0] == ModePages.caching { newWCE = page[2] & 0x04 != 0 } else { newDSense = page[2] & 0x04 != 0 }
            offset += pageLength
        }

        // WCE is the controller's: the engine's Set Features changes it for every LUN, and
        // `complete` asks for MODE PARAMETERS CHANGED on the others.
        if let newWCE, newWCE != request.writeCacheEnabled {
            return request.execute([.setVolatileWriteCache(enabled: newWCE)], consumed: length,
                                   onSuccess: .writeCacheChanged(descriptorSense: newDSense))
        }
        if let newDSense { state.descriptorSense = newDSense }
        return .respond(request.good(consumed: length))
    }

    /// The block descriptor may only restate the current geometry: NUMBER OF LOGICAL BLOCKS zero
    /// or the capacity, LOGICAL BLOCK LENGTH the current block size (no reformatting here).
    static func checkBlockDescriptor(_ data: [UInt8], at start: Int, long: Bool, unit: LogicalUnit) throws(SenseCondition) {
        let blocks = long ? data.be64(at: start) : UInt64(data.be32(at: start))
        let capacity = long ? unit.blockCount : min(unit.blockCount, 0xFFFF_FFFF)
        if blocks != 0 && blocks != capacity { throw .invalidParameter(byte: start) }
        let lengthField = long ? start + 12 : start + 5
        let blockLength = long ? data.be32(at: lengthField) : data.be24(at: lengthField)
        if blockLength != UInt32(unit.blockSize) { throw .invalidParameter(byte: lengthField) }
    }
}
