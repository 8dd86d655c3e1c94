import HexFormat
import NVMe

/// How the trace writes NVMe commands: opcode by name, NSID, SLBA and NLB for the NVM commands
/// that address blocks, and the data pointer (PRP1/PRP2, the PRP list walked in DMA memory, or
/// the SGL descriptor) as the controller will read it.
enum TraceFormat {
    /// The opcode's name in its command set.
    static func name(_ entry: SubmissionQueueEntry, admin: Bool) -> String {
        if admin { return AdminOpcode(rawValue: entry.opcode).map { "\($0)" } ?? "admin opcode \(hex(entry.opcode))" }
        return NVMOpcode(rawValue: entry.opcode).map { "\($0)" } ?? "opcode \(hex(entry.opcode))"
    }

    /// Whether the NVM command's CDW10-12 are SLBA and NLB.
    static func addressesBlocks(_ entry: SubmissionQueueEntry) -> Bool {
        switch NVMOpcode(rawValue: entry.opcode) {
        case .read?, .write?, .compare?, .verify?, .writeZeroes?, .writeUncorrectable?: true
        default: false
        }
    }

    /// Bytes of host memory the command's data pointer covers, when the trace can know it.
    static func dataBytes(_ entry: SubmissionQueueEntry, blockSize: Int?) -> Int? {
        switch NVMOpcode(rawValue: entry.opcode) {
        case .read?, .write?, .compare?: blockSize.map { entry.blockCount * $0 }
        case .datasetManagement?: (Int(entry.cdw10 & 0xFF) + 1) * 16
        default: nil
        }
    }

    /// "read nsid 1 slba 0 nlb 1023", the command as completions refer to it.
    static func brief(_ entry: SubmissionQueueEntry, admin: Bool) -> String {
        var text = name(entry, admin: admin)
        if !admin, addressesBlocks(entry) {
            text += " nsid \(entry.nsid) slba \(entry.startingLBA) nlb \(entry.nlb)"
        } else if entry.nsid != 0 {
            text += " nsid \(entry.nsid)"
        }
        return text
    }

    /// The whole submission line after "SQn submit ".
    static func submission(_ entry: SubmissionQueueEntry, admin: Bool, dataBytes: Int?, pageSize: Int,
                           memory: RecordingIOMMU) -> String {
        var text = "cid \(hex(entry.commandID)): \(brief(entry, admin: admin))"
        if !admin, addressesBlocks(entry) {
            text += " (\(entry.blockCount) blocks\(dataBytes.map { ", \($0) bytes" } ?? "")\(entry.fua ? ", FUA" : ""))"
        }
        if entry.fuse != .normal { text += " fused \(entry.fuse)" }
        if admin { return text + " cdw10 \(hex(entry.cdw10, width: 8))" + " prp1 \(hex(entry.dptr1))" }
        guard entry.dptr1 != 0 || entry.psdt != .prp else { return text }
        return text + ", " + pointer(entry, dataBytes: dataBytes, pageSize: pageSize, memory: memory)
    }

    /// The data pointer: the SGL descriptor, or the PRP entries with the list walked.
    static func pointer(_ entry: SubmissionQueueEntry, dataBytes: Int?, pageSize: Int, memory: RecordingIOMMU) -> String {
        if entry.psdt != .prp {
            let sgl = entry.sgl1
            return "SGL \(sgl.type.map { "\($0)" } ?? "type \(sgl.identifier >> 4)") \(hex(sgl.address)) length \(sgl.length)"
        }
        var text = "PRP1 \(hex(entry.dptr1))"
        guard let bytes = dataBytes else { return text + (entry.dptr2 != 0 ? " PRP2 \(hex(entry.dptr2))" : "") }
        let firstPage = pageSize - Int(entry.dptr1 % UInt64(pageSize))
        if bytes <= firstPage { return text }
        if bytes - firstPage <= pageSize { return text + " PRP2 \(hex(entry.dptr2))" }
        let entries = (bytes - firstPage + pageSize - 1) / pageSize
        text += " PRP2 -> PRP list at \(hex(entry.dptr2))"
        return text + ": " + walkList(at: entry.dptr2, entries: entries, pageSize: pageSize, memory: memory)
    }

    /// Reads `entries` data page addresses from the PRP list, following the chain pointer in the
    /// last slot of each full list page; shows the first and last page and the pages used.
    static func walkList(at list: UInt64, entries: Int, pageSize: Int, memory: RecordingIOMMU) -> String {
        let perPage = pageSize / 8
        var slot = list
        var slotInPage = Int(list % UInt64(pageSize)) / 8
        var pages = 1
        var first: UInt64?
        var last: UInt64 = 0
        var left = entries
        while left > 0 {
            guard let value = memory.load(UInt64.self, at: slot).map(UInt64.init(littleEndian:)) else {
                return "\(entries) entries expected, list memory at \(hex(slot)) is not mapped"
            }
            if slotInPage == perPage - 1 && left > 1 {
                slot = value
                slotInPage = 0
                pages += 1
                continue
            }
            if first == nil { first = value }
            last = value
            left -= 1
            slot += 8
            slotInPage += 1
        }
        return "\(entries) entries in \(pages) list page\(pages == 1 ? "" : "s") (\(hex(first ?? 0)) ... \(hex(last)))"
    }
}
