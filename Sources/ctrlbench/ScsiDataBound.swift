import HexFormat

/// The most data a CDB can move, read from its own length field, so `ctrlbench scsi` never
/// allocates a buffer the command cannot use (a 4 GiB buffer for a 36-byte INQUIRY took 28 s).
/// An upper bound for the tool's check only: translation itself decides what the command moves.
struct CDBDataBound: Equatable {
    /// Bytes the CDB can move at most.
    var bytes: Int
    /// The field that says so, for the message: "ALLOCATION LENGTH (CDB bytes 3-4)".
    var field: String

    /// The bound for `cdb`, with block counts in `blockSize`-byte blocks; nil for an opcode this
    /// table does not know (the HBA's maxTransferSize is then the only bound) or a CDB too short
    /// to hold its length field.
    static func of(_ cdb: [UInt8], blockSize: Int) -> CDBDataBound? {
        guard let opcode = cdb.first else { return nil }
        func field(_ name: String, _ first: Int, _ last: Int) -> (value: Int, name: String)? {
            guard cdb.count > last else { return nil }
            let value = cdb[first...last].reduce(0) { $0 << 8 | Int($1) }
            let span = first == last ? "CDB byte \(first)" : "CDB bytes \(first)-\(last)"
            return (value, "\(name) (\(span))")
        }
        func bytes(_ found: (value: Int, name: String)?) -> CDBDataBound? {
            found.map { CDBDataBound(bytes: $0.value, field: $0.name) }
        }
        func blocks(_ found: (value: Int, name: String)?, zeroMeans: Int = 0, times: Int = 1) -> CDBDataBound? {
            found.map { CDBDataBound(bytes: ($0.value == 0 ? zeroMeans : $0.value) * blockSize * times,
                                     field: "\($0.name) x \(blockSize)-byte blocks") }
        }
        switch opcode {
        case 0x00, 0x1B, 0x35, 0x91: return CDBDataBound(bytes: 0, field: "no data phase (\(hexCode(opcode)))")
        case 0x03, 0x1A: return bytes(field("ALLOCATION LENGTH", 4, 4))
        case 0x15: return bytes(field("PARAMETER LIST LENGTH", 4, 4))
        case 0x12: return bytes(field("ALLOCATION LENGTH", 3, 4))
        case 0x5A: return bytes(field("ALLOCATION LENGTH", 7, 8))
        case 0x55: return bytes(field("PARAMETER LIST LENGTH", 7, 8))
        case 0x42: return bytes(field("PARAMETER LIST LENGTH", 7, 8))
        case 0x25: return CDBDataBound(bytes: 8, field: "READ CAPACITY (10) parameter data (8 bytes)")
        case 0x9E, 0xA0, 0xA3: return bytes(field("ALLOCATION LENGTH", opcode == 0x9E ? 10 : 6, opcode == 0x9E ? 13 : 9))
        case 0x08, 0x0A: return blocks(field("TRANSFER LENGTH", 4, 4), zeroMeans: 256)
        case 0x28, 0x2A, 0x2E, 0x2F: return blocks(field("TRANSFER LENGTH", 7, 8))
        case 0xA8, 0xAA: return blocks(field("TRANSFER LENGTH", 6, 9))
        case 0x88, 0x8A, 0x8E, 0x8F: return blocks(field("TRANSFER LENGTH", 10, 13))
        case 0x41, 0x93: return CDBDataBound(bytes: blockSize, field: "WRITE SAME's one \(blockSize)-byte block")
        case 0x89: return blocks(field("NUMBER OF LOGICAL BLOCKS", 13, 13), times: 2)
        default: return nil
        }
    }
}
