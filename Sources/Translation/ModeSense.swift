/// MODE SENSE (6) and (10) (SPC-5 6.13, 6.14).
enum ModeSense {
    static func translate(_ request: Request, state: LogicalUnitState) throws(SenseCondition) -> TranslationPlan {
        let cdb = request.cdb
        let long = cdb[0] == Opcode.modeSense10
        let disableBlockDescriptors = cdb[1] & 0x08 != 0
        let longLBAAccepted = long && cdb[1] & 0x10 != 0
        guard let pc = ModePages.Control(rawValue: cdb[2] >> 6) else { throw .invalidCDB(byte: 2, bit: 7) }
        if pc == .saved { throw SenseCondition(.illegalRequest, .savingParametersNotSupported) }
        let pageCode = cdb[2] & 0x3F
        // Subpage 00h, or FFh ("all subpages") which for these pages without subpages is the same.
        guard cdb[3] == 0x00 || cdb[3] == 0xFF else { throw .invalidCDB(byte: 3) }
        guard let pages = ModePages.pages(pageCode, pc, request, state: state) else {
            throw .invalidCDB(byte: 2, bit: 5)
        }
        let descriptor = disableBlockDescriptors ? [] : blockDescriptor(request.lu, long: longLBAAccepted, pc: pc)
        let deviceSpecific: UInt8 = 0x10                                    // DPOFUA
        var data: [UInt8]
        if long {
            data = [0, 0, 0, deviceSpecific, longLBAAccepted && !descriptor.isEmpty ? 0x01 : 0x00, 0,
                    UInt8(descriptor.count >> 8), UInt8(descriptor.count & 0xFF)] + descriptor + pages
            data.storeBE(UInt16(data.count - 2), at: 0)
        } else {
            data = [0, 0, deviceSpecific, UInt8(descriptor.count)] + descriptor + pages
            data[0] = UInt8(data.count - 1)
        }
        let allocationLength = long ? Int(cdb.be16(at: 7)) : Int(cdb[4])
        return request.data(data, allocationLength: allocationLength)
    }

    /// The short (8-byte) or long (16-byte) block descriptor; all zero for changeable values
    /// (neither the capacity nor the block length can be changed by MODE SELECT).
    static func blockDescriptor(_ unit: LogicalUnit, long: Bool, pc: ModePages.Control) -> [UInt8] {
        var descriptor = [UInt8](repeating: 0, count: long ? 16 : 8)
        guard pc != .changeable else { return descriptor }
        if long {
            descriptor.storeBE(unit.blockCount, at: 0)
            descriptor.storeBE(UInt32(unit.blockSize), at: 12)
        } else {
            descriptor.storeBE(unit.blockCount > 0xFFFF_FFFF ? UInt32.max : UInt32(unit.blockCount), at: 0)
            // LOGICAL BLOCK LENGTH is bytes 5-7; byte 4 is reserved and block sizes fit in 24 bits.
            descriptor.storeBE(UInt32(unit.blockSize) & 0x00FF_FFFF, at: 4)
        }
        return descriptor
    }
}
