/// READ/WRITE (6, 10, 12, 16), WRITE AND VERIFY (10, 12, 16), VERIFY (10, 12, 16) and
/// SYNCHRONIZE CACHE (10, 16) (SBC-4 5.x; Reference "READ", "WRITE", "VERIFY", "SYNCHRONIZE CACHE").
/// The LBA and TRANSFER LENGTH of a READ, WRITE, WRITE AND VERIFY or VERIFY CDB (`ReadWrite.fields`),
/// for a caller outside translation that cuts such a command (the export's pieces); nil for a CDB
/// of another length than 6, 10, 12 or 16 bytes.
public func blockCommandAddress(_ cdb: [UInt8]) -> (lba: UInt64, blocks: UInt64)? {
    switch cdb.count {
    case 6, 10, 12, 16:
        let fields = ReadWrite.fields(cdb)
        return (fields.lba, UInt64(fields.blocks))
    default: return nil
    }
}

enum ReadWrite {
    /// The addressing fields of a block command, wherever its CDB keeps them.
    struct Fields {
        var lba: UInt64
        var blocks: UInt32
        var fua: Bool
    }

    static func fields(_ cdb: [UInt8]) -> Fields {
        let fua = cdb[1] & 0x08 != 0
        switch cdb.count {
        case 6:
            // READ/WRITE(6): 21-bit LBA; a TRANSFER LENGTH of 0 means 256 blocks (SBC-4 5.16).
            let lba = UInt64(cdb[1] & 0x1F) << 16 | UInt64(cdb.be16(at: 2))
            return Fields(lba: lba, blocks: cdb[4] == 0 ? 256 : UInt32(cdb[4]), fua: false)
        case 10: return Fields(lba: UInt64(cdb.be32(at: 2)), blocks: UInt32(cdb.be16(at: 7)), fua: fua)
        case 12: return Fields(lba: UInt64(cdb.be32(at: 2)), blocks: cdb.be32(at: 6), fua: fua)
        default: return Fields(lba: cdb.be64(at: 2), blocks: cdb.be32(at: 10), fua: fua)
        }
    }

    static func translate(_ kind: CommandKind, _ request: Request) throws(SenseCondition) -> TranslationPlan {
        let f = fields(request.cdb)
        let unit = request.lu
        try request.checkRange(lba: f.lba, blocks: UInt64(f.blocks))
        let bytes = Int(f.blocks) * unit.blockSize
        let byteCheck = (request.cdb[1] >> 1) & 0x03
        let facts = request.facts
        // A zero TRANSFER LENGTH moves nothing and is not an error (SBC-4), whatever the buffer.
        if f.blocks == 0 {
            if kind == .verify || kind == .writeAndVerify, byteCheck > 1 { throw .invalidCDB(byte: 1, bit: 2) }
            return .respond(request.good())
        }
        // SBC-4 6.6.4: a transfer above the MAXIMUM TRANSFER LENGTH that Block Limits reports is
        // an invalid TRANSFER LENGTH (VERIFY with BYTCHK 0 moves no data and is not limited).
        let limit = facts.maximumTransferBytes
        if limit > 0, bytes > limit, kind != .verify || byteCheck != 0 { throw request.invalidLength }
        let nsid = unit.nsid
        switch kind {
        case .read:
            try request.expectData(bytes, .fromDevice)
            return request.execute([.read(nsid: nsid, lba: f.lba, blocks: f.blocks, fua: f.fua, bufferOffset: 0)])
        case .write:
            try request.expectData(bytes, .toDevice)
            return request.execute([.write(nsid: nsid, lba: f.lba, blocks: f.blocks, fua: f.fua, bufferOffset: 0)])
        case .writeAndVerify:
            // Write through to the medium (FUA), then check it: Verify for BYTCHK=0 when the
            // controller has it (else FUA alone is the guarantee), Compare for BYTCHK=1.
            try request.expectData(bytes, .toDevice)
            let write = NVMeOperation.write(nsid: nsid, lba: f.lba, blocks: f.blocks, fua: true, bufferOffset: 0)
            switch byteCheck {
            case 0:
                guard facts.controller.oncs.contains(.verify) else { return request.execute([write]) }
                return request.execute([write, .verify(nsid: nsid, lba: f.lba, blocks: f.blocks)])
            case 1:
                guard facts.controller.oncs.contains(.compare) else { throw .invalidCDB(byte: 1, bit: 2) }
                return request.execute([write, .compare(nsid: nsid, lba: f.lba, blocks: f.blocks, bufferOffset: 0)],
                                       compareData: request.dataOut)
            default: throw .invalidCDB(byte: 1, bit: 2)
            }
        case .verify:
            switch byteCheck {
            case 0:
                // Without NVMe Verify only BYTCHK 1 (Compare) can be carried out.
                guard facts.controller.oncs.contains(.verify) else { throw .invalidCDB(byte: 1, bit: 2) }
                try request.expectData(0, .none)
                return request.execute([.verify(nsid: nsid, lba: f.lba, blocks: f.blocks)])
            case 1:
                guard facts.controller.oncs.contains(.compare) else { throw .invalidCDB(byte: 1, bit: 2) }
                try request.expectData(bytes, .toDevice)
                return request.execute([.compare(nsid: nsid, lba: f.lba, blocks: f.blocks, bufferOffset: 0)],
                                       compareData: request.dataOut)
            default:
                // 10b is reserved; 11b (one block compared against every block) is not supported.
                throw .invalidCDB(byte: 1, bit: 2)
            }
        default:
            throw .invalidOpcode
        }
    }

    /// SYNCHRONIZE CACHE: NVMe Flush covers the whole namespace, a superset of the range. With no
    /// volatile write cache there is nothing to flush and GOOD is the truthful answer. IMMED
    /// (byte 1 bit 1) asks for status once the CDB is validated (SBC-4 5.26), so a failed Flush
    /// becomes a deferred error.
    static func synchronizeCache(_ request: Request, state: LogicalUnitState) throws(SenseCondition) -> TranslationPlan {
        let cdb = request.cdb
        let lba = cdb.count == 10 ? UInt64(cdb.be32(at: 2)) : cdb.be64(at: 2)
        let blocks = cdb.count == 10 ? UInt64(cdb.be16(at: 7)) : UInt64(cdb.be32(at: 10))
        try request.checkRange(lba: lba, blocks: blocks)
        try request.expectData(0, .none)
        guard request.facts.hasVolatileWriteCache else { return .respond(request.good()) }
        return request.execute([.flush(nsid: request.lu.nsid)], immediate: cdb[1] & 0x02 != 0)
    }
}
