// Shared by the test targets (they cannot depend on one another): sense data laid out by hand
// from SPC-5, never produced by the code under test.

/// Fixed-format sense (SPC-5 4.4.3), 18 bytes, written out from the layout: response code 70h,
/// sense key in byte 2, INFORMATION in bytes 3-6 (VALID in byte 0 bit 7), ADDITIONAL SENSE LENGTH
/// 0Ah, ASC/ASCQ in bytes 12-13, SENSE KEY SPECIFIC in bytes 15-17.
public func fixedSense(_ key: UInt8, _ asc: UInt8, _ ascq: UInt8, information: UInt32? = nil,
                       specific: [UInt8] = [0, 0, 0]) -> [UInt8] {
    let info = information ?? 0
    return [information == nil ? 0x70 : 0xF0, 0x00, key,
            UInt8(info >> 24), UInt8((info >> 16) & 0xFF), UInt8((info >> 8) & 0xFF), UInt8(info & 0xFF),
            0x0A, 0, 0, 0, 0, asc, ascq, 0x00] + specific
}

/// Descriptor-format sense (SPC-5 4.4.2) with no descriptors: 72h, key, ASC, ASCQ, 3 reserved, length 0.
public func descriptorSense(_ key: UInt8, _ asc: UInt8, _ ascq: UInt8) -> [UInt8] {
    [0x72, key, asc, ascq, 0, 0, 0, 0]
}

/// ILLEGAL REQUEST (5h), INVALID FIELD IN CDB (24h/00h) with the field pointer in SENSE KEY
/// SPECIFIC (SPC-5 4.4.2.2): SKSV, C/D 1 (the CDB), BPV and the bit when given, the byte.
public func invalidCDB(byte: UInt16, bit: UInt8? = nil) -> [UInt8] {
    fixedSense(0x05, 0x24, 0x00, specific: [0xC0 | (bit.map { 0x08 | $0 } ?? 0), UInt8(byte >> 8), UInt8(byte & 0xFF)])
}

/// ILLEGAL REQUEST (5h), INVALID FIELD IN PARAMETER LIST (26h/00h): the same pointer with C/D 0.
public func invalidParameter(byte: UInt16, bit: UInt8? = nil) -> [UInt8] {
    fixedSense(0x05, 0x26, 0x00, specific: [0x80 | (bit.map { 0x08 | $0 } ?? 0), UInt8(byte >> 8), UInt8(byte & 0xFF)])
}
