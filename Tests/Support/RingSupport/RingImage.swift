import CTCMU
import TCMUExport

/// An in-memory TCMU map built the way the kernel builds one (include/uapi/linux/target_core_user.h):
/// a mailbox at 0, the command ring at `ringOffset`, the data area after it. Entries are written
/// with the header's field offsets spelled out here, independently of the parser's constants.
/// Shared by the TCMU export's tests and the ring server's benchmark.
public final class RingImage: @unchecked Sendable {
    /// The whole map: mailbox, command ring, data area.
    public let bytes: UnsafeMutableRawBufferPointer
    /// cmdr_off: where the command ring starts (right after the 128-byte mailbox).
    public let ringOffset = 128
    /// cmdr_size: bytes in the command ring.
    public let ringSize: Int
    /// The kernel's next entry position in the ring (published as cmd_head by `publishHead`).
    public var head = 0
    /// Next free byte of the data area.
    public var dataCursor: Int

    /// A map with a command ring of `ringSize` bytes and a data area of `dataSize`, its mailbox
    /// speaking `version` with the capability `flags` (0x3: out-of-order completion and read_len).
    public init(ringSize: Int = 4096, dataSize: Int = 1 << 20, version: UInt16 = 2, flags: UInt16 = 0x3) {
        self.ringSize = ringSize
        bytes = .allocate(byteCount: 128 + ringSize + dataSize, alignment: 4096)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
        dataCursor = 128 + ringSize
        put(UInt16(version), at: 0)
        put(UInt16(flags), at: 2)
        put(UInt32(ringOffset), at: 4)
        put(UInt32(ringSize), at: 8)
    }

    deinit { bytes.deallocate() }

    /// The map as the server takes it.
    public var map: SharedMap { SharedMap(bytes) }
    /// Where the data area starts in the map.
    public var dataOffset: Int { ringOffset + ringSize }
    /// cmd_tail, loaded with acquire ordering: the responses before it are visible after this load.
    public var tail: Int { Int(UInt32(littleEndian: ctcmu_load_acquire(bytes.baseAddress! + 64))) }

    /// Stores `value` little-endian at byte `offset` of the map.
    public func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        bytes.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }

    /// Loads a little-endian `type` at byte `offset` of the map.
    public func get<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        T(littleEndian: UnsafeRawBufferPointer(bytes).loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Publishes `head` as cmd_head, with release ordering (the entries before it are visible first).
    public func publishHead() { ctcmu_store_release(bytes.baseAddress! + 12, UInt32(head).littleEndian) }

    /// Reserves `count` bytes of the data area (4 KiB aligned, like the kernel's blocks) filled with
    /// `fill`; returns their offset in the map.
    public func data(_ count: Int, fill: UInt8 = 0) -> Int {
        let offset = dataCursor
        for index in 0..<count { bytes[offset + index] = fill }
        dataCursor += (count + 4095) / 4096 * 4096
        return offset
    }

    /// A PAD entry of `length` bytes at the head.
    @discardableResult
    public func pad(_ length: Int) -> Int {
        let position = head
        put(UInt32(length) | 0, at: ringOffset + position)
        head = (head + length) % ringSize
        return position
    }

    /// A command entry at the head, laid out as the kernel's queue_cmd_ring lays it out: header,
    /// iov_cnt, bidi and dif counts, cdb_off, two pads, the iovecs, then the CDB. Pads the ring's
    /// end first when the entry would not fit. Returns the entry's ring position. `cdbOffset` and
    /// `lengthOverride` (which leaves the CDB unwritten) make malformed entries. Allocates nothing.
    @discardableResult
    public func command(id: UInt16, cdb: [UInt8], iovecs: [(offset: Int, length: Int)], bidi: UInt32 = 0,
                        dif: UInt32 = 0, cdbOffset: UInt64? = nil, lengthOverride: Int? = nil) -> Int {
        let base = max(48 + 16 * iovecs.count, 112)
        // The kernel's tcmu_cmd_get_cmd_size: the iovecs (or the response) then the CDB, in 8-byte units.
        let length = lengthOverride ?? ((base + cdb.count + 7) / 8 * 8)
        if ringSize - head < length { pad(ringSize - head) }
        let position = head
        let entry = ringOffset + position
        put(UInt32(length) | 1, at: entry)
        put(id, at: entry + 4)
        put(UInt8(0), at: entry + 6)
        put(UInt8(0), at: entry + 7)
        put(UInt32(iovecs.count), at: entry + 8)
        put(bidi, at: entry + 12)
        put(dif, at: entry + 16)
        put(cdbOffset ?? UInt64(entry + base), at: entry + 24)
        for (index, vector) in iovecs.enumerated() {
            put(UInt64(vector.offset), at: entry + 48 + 16 * index)
            put(UInt64(vector.length), at: entry + 48 + 16 * index + 8)
        }
        if lengthOverride == nil { for (index, byte) in cdb.enumerated() { bytes[entry + base + index] = byte } }
        head = (head + length) % ringSize
        return position
    }

    /// The SCSI status the handler wrote into the entry at ring `position`.
    public func status(at position: Int) -> UInt8 { get(UInt8.self, at: ringOffset + position + 8) }

    /// The response the handler wrote into the entry at ring `position`.
    public func response(at position: Int) -> (id: UInt16, uflags: UInt8, status: UInt8, readLength: UInt32, sense: [UInt8]) {
        let entry = ringOffset + position
        return (get(UInt16.self, at: entry + 4), get(UInt8.self, at: entry + 7), status(at: position),
                get(UInt32.self, at: entry + 12), Array(bytes[(entry + 16)..<(entry + 16 + 96)]))
    }

    /// A copy of `count` bytes of the map from `offset`.
    public func bytes(at offset: Int, count: Int) -> [UInt8] { Array(bytes[offset..<(offset + count)]) }
}
