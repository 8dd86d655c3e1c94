/// SCSI operation codes this layer knows about (SPC-5, SBC-4).
enum Opcode {
    static let testUnitReady: UInt8 = 0x00, requestSense: UInt8 = 0x03, read6: UInt8 = 0x08, write6: UInt8 = 0x0A
    static let inquiry: UInt8 = 0x12, modeSelect6: UInt8 = 0x15, modeSense6: UInt8 = 0x1A, startStopUnit: UInt8 = 0x1B
    static let readCapacity10: UInt8 = 0x25, read10: UInt8 = 0x28, write10: UInt8 = 0x2A, writeAndVerify10: UInt8 = 0x2E
    static let verify10: UInt8 = 0x2F, synchronizeCache10: UInt8 = 0x35, writeSame10: UInt8 = 0x41, unmap: UInt8 = 0x42
    static let modeSelect10: UInt8 = 0x55, modeSense10: UInt8 = 0x5A, read16: UInt8 = 0x88, compareAndWrite: UInt8 = 0x89
    static let write16: UInt8 = 0x8A, writeAndVerify16: UInt8 = 0x8E, verify16: UInt8 = 0x8F, synchronizeCache16: UInt8 = 0x91
    static let writeSame16: UInt8 = 0x93, serviceActionIn16: UInt8 = 0x9E, reportLUNs: UInt8 = 0xA0
    static let maintenanceIn: UInt8 = 0xA3, read12: UInt8 = 0xA8, write12: UInt8 = 0xAA
    static let writeAndVerify12: UInt8 = 0xAE, verify12: UInt8 = 0xAF
}

/// What a supported command does; the translator switches over this.
enum CommandKind: Sendable, Equatable {
    case testUnitReady, requestSense, inquiry, modeSense, modeSelect, startStopUnit
    case readCapacity10, readCapacity16, read, write, writeAndVerify, verify, synchronizeCache
    case writeSame, unmap, compareAndWrite, reportLUNs, reportSupportedOperationCodes
}

/// One supported command: its opcode (and service action), and its CDB usage data (SPC-5
/// REPORT SUPPORTED OPERATION CODES): byte 0 is the opcode, every other byte has a one for each
/// bit the device server looks at. The usage data is also the reserved-bit check: a CDB bit set
/// outside it is an INVALID FIELD IN CDB, so the two can never disagree.
struct CommandDescriptor: Sendable {
    let opcode: UInt8
    let serviceAction: UInt8?
    let kind: CommandKind
    let usage: [UInt8]

    var length: Int { usage.count }

    /// Commands answered even for an absent LUN and while a unit attention is pending (SPC-5 / SAM-5).
    var exemptFromUnitAttention: Bool { kind == .inquiry || kind == .reportLUNs || kind == .requestSense }
    /// Commands that need no media access, so are accepted while the unit is stopped.
    var allowedWhenStopped: Bool {
        switch kind {
        case .inquiry, .reportLUNs, .requestSense, .startStopUnit, .modeSense, .modeSelect,
             .reportSupportedOperationCodes: true
        default: false
        }
    }

    /// Whether this device can carry out the command at all. VERIFY needs NVMe Verify for
    /// BYTCHK 0 or Compare for BYTCHK 1, so either makes it supported (the other BYTCHK value is
    /// then refused as a field).
    func isSupported(by facts: DeviceFacts) -> Bool {
        switch kind {
        case .verify: facts.controller.oncs.contains(.verify) || facts.controller.oncs.contains(.compare)
        case .unmap: facts.supportsDeallocate
        case .compareAndWrite: facts.supportsCompareAndWrite
        default: true
        }
    }

    /// The usage data for this device: the static mask less the bits whose feature the device
    /// lacks, so REPORT SUPPORTED OPERATION CODES and the reserved-bit check agree with VPD B2h.
    /// WRITE SAME's UNMAP bit needs deallocation (LBPWS/LBPWS10, SBC-4 6.6.6) and WRITE SAME
    /// (16)'s NDOB bit needs Write Zeroes (without it there is no block to write from).
    func usage(for facts: DeviceFacts) -> [UInt8] {
        guard kind == .writeSame else { return usage }
        var adjusted = usage
        if !facts.supportsDeallocate { adjusted[1] &= ~0x08 }
        if !facts.supportsWriteZeroes { adjusted[1] &= ~0x01 }
        return adjusted
    }

    /// The CDB byte of the field that sets how many bytes the data phase moves (TRANSFER
    /// LENGTH, ALLOCATION LENGTH, PARAMETER LIST LENGTH, NUMBER OF LOGICAL BLOCKS), for field
    /// pointers; nil for commands with no such field. The one source of that byte: handlers
    /// read it as `Request.lengthField`, the engine's buffer check through `invalidDataBuffer`.
    var lengthField: Int? {
        switch kind {
        case .read, .write, .writeAndVerify, .verify, .synchronizeCache, .writeSame:
            switch length { case 6: 4; case 10: 7; case 12: 6; default: 10 }
        case .compareAndWrite: 13
        case .inquiry: 3
        case .requestSense: 4
        case .modeSense, .modeSelect: length == 6 ? 4 : 7
        case .unmap: 7
        case .readCapacity16: 10
        case .reportLUNs, .reportSupportedOperationCodes: 6
        case .testUnitReady, .startStopUnit, .readCapacity10: nil
        }
    }
}

enum CommandTable {
    private static func c(_ opcode: UInt8, _ kind: CommandKind, _ usage: [UInt8], sa: UInt8? = nil) -> CommandDescriptor {
        CommandDescriptor(opcode: opcode, serviceAction: sa, kind: kind, usage: [opcode] + usage)
    }

    // Usage bytes follow the CDB layouts of SPC-5/SBC-4 from byte 1 to the CONTROL byte. CONTROL is
    // 00h everywhere: NACA and LINK are not supported, so a CDB with either set is refused.
    // RDPROTECT/WRPROTECT/VRPROTECT are not used (no protection information support) and
    // so not in the masks; DPO (bit 4) and FUA (bit 3) are.
    static let all: [CommandDescriptor] = [
        c(Opcode.testUnitReady, .testUnitReady, [0, 0, 0, 0, 0]),
        c(Opcode.requestSense, .requestSense, [0x01, 0, 0, 0xFF, 0]),
        c(Opcode.inquiry, .inquiry, [0x01, 0xFF, 0xFF, 0xFF, 0]),
        c(Opcode.modeSelect6, .modeSelect, [0x11, 0, 0, 0xFF, 0]),
        c(Opcode.modeSense6, .modeSense, [0x08, 0xFF, 0xFF, 0xFF, 0]),
        c(Opcode.startStopUnit, .startStopUnit, [0x01, 0, 0x0F, 0xF7, 0]),
        c(Opcode.read6, .read, [0x1F, 0xFF, 0xFF, 0xFF, 0]),
        c(Opcode.write6, .write, [0x1F, 0xFF, 0xFF, 0xFF, 0]),
        c(Opcode.readCapacity10, .readCapacity10, [0, 0, 0, 0, 0, 0, 0, 0, 0]),
        c(Opcode.read10, .read, [0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F, 0xFF, 0xFF, 0]),
        c(Opcode.write10, .write, [0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F, 0xFF, 0xFF, 0]),
        c(Opcode.writeAndVerify10, .writeAndVerify, [0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F, 0xFF, 0xFF, 0]),
        c(Opcode.verify10, .verify, [0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F, 0xFF, 0xFF, 0]),
        c(Opcode.synchronizeCache10, .synchronizeCache, [0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F, 0xFF, 0xFF, 0]),
        c(Opcode.writeSame10, .writeSame, [0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F, 0xFF, 0xFF, 0]),
        c(Opcode.unmap, .unmap, [0, 0, 0, 0, 0, 0x3F, 0xFF, 0xFF, 0]),
        c(Opcode.modeSelect10, .modeSelect, [0x11, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0]),
        c(Opcode.modeSense10, .modeSense, [0x18, 0xFF, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0]),
        c(Opcode.read16, .read, [0x18] + [UInt8](repeating: 0xFF, count: 12) + [0x3F, 0]),
        c(Opcode.compareAndWrite, .compareAndWrite, [0x18] + [UInt8](repeating: 0xFF, count: 8) + [0, 0, 0, 0xFF, 0x3F, 0]),
        c(Opcode.write16, .write, [0x18] + [UInt8](repeating: 0xFF, count: 12) + [0x3F, 0]),
        c(Opcode.writeAndVerify16, .writeAndVerify, [0x16] + [UInt8](repeating: 0xFF, count: 12) + [0x3F, 0]),
        c(Opcode.verify16, .verify, [0x16] + [UInt8](repeating: 0xFF, count: 12) + [0x3F, 0]),
        c(Opcode.synchronizeCache16, .synchronizeCache, [0x02] + [UInt8](repeating: 0xFF, count: 12) + [0x3F, 0]),
        c(Opcode.writeSame16, .writeSame, [0x09] + [UInt8](repeating: 0xFF, count: 12) + [0x3F, 0]),
        c(Opcode.serviceActionIn16, .readCapacity16,
          [0x1F, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0], sa: 0x10),
        c(Opcode.reportLUNs, .reportLUNs, [0, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0]),
        c(Opcode.maintenanceIn, .reportSupportedOperationCodes,
          [0x1F, 0x87, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0], sa: 0x0C),
        c(Opcode.read12, .read, [0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F, 0]),
        c(Opcode.write12, .write, [0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F, 0]),
        c(Opcode.writeAndVerify12, .writeAndVerify, [0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F, 0]),
        c(Opcode.verify12, .verify, [0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F, 0]),
    ]

    /// Whether any supported command uses this opcode with a service action.
    static func hasServiceActions(_ opcode: UInt8) -> Bool {
        all.contains { $0.opcode == opcode && $0.serviceAction != nil }
    }

    /// The descriptor for an opcode (and service action, for opcodes that have them).
    static func lookup(opcode: UInt8, serviceAction: UInt8?) -> CommandDescriptor? {
        all.first { $0.opcode == opcode && ($0.serviceAction == nil || $0.serviceAction == serviceAction) }
    }

    /// The descriptor for the command a CDB names, nil for an unknown or empty one.
    static func lookup(_ cdb: [UInt8]) -> CommandDescriptor? {
        guard let opcode = cdb.first else { return nil }
        return lookup(opcode: opcode, serviceAction: hasServiceActions(opcode) && cdb.count > 1 ? cdb[1] & 0x1F : nil)
    }
}

/// Field checks shared by every command.
enum CDBCheck {
    /// A bit set outside the usage data: INVALID FIELD IN CDB naming the highest offending bit.
    static func reservedBits(_ cdb: [UInt8], usage: [UInt8]) throws(SenseCondition) {
        for index in 1..<usage.count {
            let stray = cdb[index] & ~usage[index]
            if stray != 0 { throw .invalidCDB(byte: index, bit: 7 - stray.leadingZeroBitCount) }
        }
    }
}
