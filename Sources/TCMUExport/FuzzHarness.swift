/// The ring parser under arbitrary input, for libFuzzer (Sources/TCMURingFuzz) and for the tests
/// that replay inputs. The input is a whole shared map: whatever the kernel could have written.
/// The parser must walk it without trapping; every command it accepts must name iovecs inside the
/// data area, a CDB of at most 32 bytes and a transfer within capacity.
public enum RingFuzzing {
    /// Walks every entry of the map in `input` from cmd_tail to cmd_head (at most 4096 entries);
    /// returns a broken invariant, or nil.
    public static func violation(in input: UnsafeRawBufferPointer) -> String? {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: input.count, alignment: 64)
        defer { storage.deallocate() }
        if input.count > 0 { storage.copyMemory(from: input) }
        let map = SharedMap(storage)
        guard let parser = try? RingParser(map: map), let head = try? parser.head(),
              let tail = try? parser.geometry.checkedHead(map.load(RingLayout.tailOffset, as: UInt32.self)) else { return nil }
        let command = ParsedCommand(iovecCapacity: 64, transferCapacity: 1 << 20)
        var cursor = tail
        for _ in 0..<4096 where cursor != head {
            guard let entry = try? parser.entry(at: cursor, head: head, into: command) else { return nil }
            guard entry.length > 0, entry.length % RingLayout.entryAlignment == 0 else { return "entry length \(entry.length)" }
            if case .command = entry {
                if command.cdb.isEmpty || command.cdb.count > RingLayout.maximumCDBLength { return "CDB of \(command.cdb.count) bytes" }
                var total = 0
                for vector in command.iovecs {
                    if vector.offset < parser.geometry.dataAreaOffset || vector.offset + vector.length > input.count {
                        return "iovec \(vector) outside the data area"
                    }
                    total += vector.length
                }
                if total != command.transferLength || total > command.transferCapacity { return "transfer \(total)" }
            }
            cursor = (cursor + entry.length) % parser.geometry.commandRingSize
        }
        return nil
    }
}
