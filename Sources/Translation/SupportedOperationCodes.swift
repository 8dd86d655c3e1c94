/// REPORT SUPPORTED OPERATION CODES (SPC-5 6.35), MAINTENANCE IN A3h / 0Ch. Built from the same
/// command table that checks CDBs, so what is reported is exactly what is accepted.
enum SupportedOperationCodes {
    static func translate(_ request: Request) throws(SenseCondition) -> TranslationPlan {
        let cdb = request.cdb
        let timeouts = cdb[2] & 0x80 != 0
        let options = cdb[2] & 0x07
        let opcode = cdb[3]
        let serviceAction = cdb.be16(at: 4)
        let commands = CommandTable.all.filter { $0.isSupported(by: request.facts) }
        let data: [UInt8]
        switch options {
        case 0:
            var list: [UInt8] = []
            for command in commands {
                var entry: [UInt8] = [command.opcode, 0, 0, command.serviceAction ?? 0, 0,
                                      (timeouts ? 0x02 : 0) | (command.serviceAction != nil ? 0x01 : 0),
                                      0, UInt8(command.length)]
                if timeouts { entry += timeoutsDescriptor }
                list += entry
            }
            var header = [UInt8](repeating: 0, count: 4)
            header.storeBE(UInt32(list.count), at: 0)
            data = header + list
        case 1, 2, 3:
            let hasActions = CommandTable.hasServiceActions(opcode)
            // Option 1 names an opcode without service actions, option 2 one with them (SPC-5).
            if options == 1, hasActions { throw .invalidCDB(byte: 2, bit: 2) }
            if options == 2, !hasActions { throw .invalidCDB(byte: 2, bit: 2) }
            // Option 3 names either kind; for an opcode without service actions only service
            // action 0 describes it, anything else is reported as not supported.
            let match = commands.first {
                $0.opcode == opcode
                    && (hasActions ? UInt16($0.serviceAction ?? 0) == serviceAction : options == 1 || serviceAction == 0)
            }
            if let match {
                // SPC-5: the service action code itself goes where the CDB has its SERVICE
                // ACTION field (byte 1 bits 4-0 here); the usage mask is for every other bit.
                var usage = match.usage(for: request.facts)
                if let action = match.serviceAction { usage[1] = usage[1] & ~0x1F | action }
                var entry: [UInt8] = [0, (timeouts ? 0x80 : 0) | 0x03, 0, UInt8(match.length)] + usage
                if timeouts { entry += timeoutsDescriptor }
                data = entry
            } else {
                data = [0, 0x01, 0, 0]                      // SUPPORT 001b: not supported
            }
        default:
            throw .invalidCDB(byte: 2, bit: 2)
        }
        return request.data(data, allocationLength: Int(cdb.be32(at: 6)))
    }

    /// Command timeouts descriptor: length 0Ah, no nominal or recommended timeout given (zero).
    static let timeoutsDescriptor: [UInt8] = [0x00, 0x0A, 0x00, 0x00] + [UInt8](repeating: 0, count: 8)
}
