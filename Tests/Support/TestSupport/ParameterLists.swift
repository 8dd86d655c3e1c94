// Parameter data for data-out commands, laid out by hand from SBC-4 and SPC-5, shared by the
// test targets like the CDB builders.

/// Mode pages as MODE SELECT sends them and MODE SENSE returns their current values.
public enum ModePage {
    /// Caching mode page (SBC-4 6.5.5): PAGE CODE 08h, PAGE LENGTH 12h, WCE byte 2 bit 2.
    public static func caching(wce: Bool) -> [UInt8] {
        [0x08, 0x12, wce ? 0x04 : 0x00] + [UInt8](repeating: 0, count: 17)
    }
    /// Control mode page (SPC-5 7.5.10): PAGE CODE 0Ah, PAGE LENGTH 0Ah; byte 2 GLTSD (bit 1) and
    /// D_SENSE (bit 2); byte 3 QUEUE ALGORITHM MODIFIER 1h; BUSY TIMEOUT PERIOD FFFFh (unlimited).
    public static func control(dSense: Bool) -> [UInt8] {
        [0x0A, 0x0A, 0x02 | (dSense ? 0x04 : 0), 0x10, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00]
    }
    /// MODE SELECT (6) parameter list: the 4-byte mode parameter header (all zero: no block
    /// descriptors), then `pages`.
    public static func selectList6(_ pages: [UInt8]...) -> [UInt8] { [0, 0, 0, 0] + pages.flatMap { $0 } }
}

/// UNMAP parameter list (SBC-4 5.32.2): UNMAP DATA LENGTH (n - 2), BLOCK DESCRIPTOR DATA LENGTH,
/// 4 reserved, then 16-byte descriptors: LBA (8), NUMBER OF LOGICAL BLOCKS (4), reserved (4).
public func unmapParameterList(_ ranges: [(lba: UInt64, blocks: UInt32)]) -> [UInt8] {
    let descriptors: [UInt8] = ranges.flatMap { range -> [UInt8] in
        be(range.lba, 8) + be(UInt64(range.blocks), 4) + [UInt8](repeating: 0, count: 4)
    }
    return be(UInt64(6 + descriptors.count), 2) + be(UInt64(descriptors.count), 2) + [0, 0, 0, 0] + descriptors
}
