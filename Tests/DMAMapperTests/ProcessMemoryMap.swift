import Foundation

/// What the kernel says about the mapping that holds an address (/proc/self/smaps): an
/// independent view of whether memory is locked and which page size backs it.
struct ProcessMemoryMap {
    /// The mapping's size, its locked part, and the kernel page size backing it, in KiB.
    var sizeKiB = 0, lockedKiB = 0, kernelPageKiB = 0

    /// The smaps entry of the mapping containing `address`, nil when none does.
    static func mapping(containing address: UnsafeRawPointer) throws -> ProcessMemoryMap? {
        let target = UInt(bitPattern: address)
        // procfs files report size 0, so read to end of file rather than by the file's size.
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/smaps"))
        defer { try? handle.close() }
        let text = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        var current: ProcessMemoryMap?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                if current != nil { return current }
                let bounds = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
                current = bounds.count == 2 && bounds[0] <= target && target < bounds[1] ? ProcessMemoryMap() : nil
                continue
            }
            guard current != nil, fields.count >= 2, let value = Int(fields[1]) else { continue }
            switch fields[0] {
            case "Size:": current?.sizeKiB = value
            case "Locked:": current?.lockedKiB = value
            case "KernelPageSize:": current?.kernelPageKiB = value
            default: break
            }
        }
        return current
    }
}
