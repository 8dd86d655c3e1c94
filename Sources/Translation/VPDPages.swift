import HexFormat
import NVMe

/// Vital product data pages (SPC-5 7.8, SBC-4 6.6; Reference "INQUIRY" VPD sections).
enum VPDPages {
    static let supported: [UInt8] = [0x00, 0x80, 0x83, 0x86, 0xB0, 0xB1, 0xB2]

    /// The page, or nil for a page this device does not have.
    static func page(_ code: UInt8, _ request: Request) -> [UInt8]? {
        let body: [UInt8]
        switch code {
        case 0x00: body = supported
        case 0x80: body = [UInt8](unitSerialNumber(request).utf8)
        case 0x83: body = deviceIdentification(request)
        case 0x86: body = extendedInquiry(request)
        case 0xB0: body = blockLimits(request)
        case 0xB1: body = blockDeviceCharacteristics()
        case 0xB2: body = logicalBlockProvisioning(request)
        default: return nil
        }
        return [0x00, code, UInt8(truncatingIfNeeded: body.count >> 8), UInt8(truncatingIfNeeded: body.count)] + body
    }

    /// PRODUCT SERIAL NUMBER: the NGUID, else the EUI-64, as hex in groups of four separated by
    /// "_" and ended by "." (Reference); a namespace with neither gets the controller serial
    /// number (20 characters) + "_" + the NSID in eight hex digits + "." (Reference 6.1.3.1.3,
    /// PAGE LENGTH 1Eh), so it is still unique per namespace.
    static func unitSerialNumber(_ request: Request) -> String {
        for identifier in identifiers(request.lu.namespace) {
            let digits = hexBytes(identifier, uppercase: true)
            var grouped = ""
            for (index, character) in digits.enumerated() {
                if index > 0, index % 4 == 0 { grouped += "_" }
                grouped.append(character)
            }
            return grouped + "."
        }
        let serial = String(decoding: [UInt8].ascii(request.facts.controller.serialNumber, length: 20), as: UTF8.self)
        return serial + "_" + hexDigits(request.lu.nsid, width: 8, uppercase: true) + "."
    }

    /// Device Identification: binary EUI-64-based designators for the NGUID (16 bytes) and
    /// EUI-64 (8 bytes) when non-zero; otherwise a T10 vendor ID based designator built from
    /// "NVMe", the model number, the serial number and the NSID.
    static func deviceIdentification(_ request: Request) -> [UInt8] {
        var body: [UInt8] = []
        for identifier in identifiers(request.lu.namespace) {
            // CODE SET 1h binary; association LU, DESIGNATOR TYPE 2h EUI-64 based.
            body += [0x01, 0x02, 0x00, UInt8(identifier.count)] + identifier
        }
        if body.isEmpty {
            let controller = request.facts.controller
            let text = [UInt8].ascii("NVMe", length: 8) + [UInt8].ascii(controller.modelNumber, length: 40)
                + [UInt8].ascii(controller.serialNumber, length: 20) + Array(hexDigits(request.lu.nsid, width: 8, uppercase: true).utf8)
            // CODE SET 2h ASCII; association LU, DESIGNATOR TYPE 1h T10 vendor ID based.
            body += [0x02, 0x01, 0x00, UInt8(text.count)] + text
        }
        return body
    }

    /// The namespace's NGUID and EUI-64, in that order, each only when it is non-zero and of its
    /// defined size (16 and 8 bytes): Identify data is the device's word, and a field of another
    /// size is not that identifier (nor may it overflow a one-byte DESIGNATOR LENGTH).
    static func identifiers(_ namespace: IdentifyNamespace) -> [[UInt8]] {
        [(namespace.nguid, 16), (namespace.eui64, 8)].compactMap { identifier, size in
            identifier.count == size && identifier.contains { $0 != 0 } ? identifier : nil
        }
    }

    /// Extended INQUIRY Data (SPC-5 7.8.9), 60 bytes after the header.
    static func extendedInquiry(_ request: Request) -> [UInt8] {
        var body = [UInt8](repeating: 0, count: 60)
        body[1] = 0x01                                                  // SIMPSUP: NVMe has no task attributes
        body[2] = request.facts.hasVolatileWriteCache ? 0x01 : 0x00     // V_SUP
        body[3] = 0x01                                                  // LUICLR
        return body
    }

    /// Block Limits (SBC-4 6.6.4), 60 bytes after the header.
    static func blockLimits(_ request: Request) -> [UInt8] {
        let facts = request.facts, controller = facts.controller, unit = request.lu
        let blockSize = unit.blockSize
        var body = [UInt8](repeating: 0, count: 60)
        body[0] = 0x01                                                  // WSNZ: WRITE SAME of 0 blocks is refused
        if facts.supportsCompareAndWrite {
            body[1] = UInt8(min(Int(controller.acwu) + 1, 255))         // MAXIMUM COMPARE AND WRITE LENGTH
        }
        let namespace = unit.namespace
        let optimalGranularity = namespace.nsfeat & 0x10 != 0 ? Int(namespace.npwg) + 1 : 0
        body.storeBE(UInt16(clamping: optimalGranularity), at: 2)
        body.storeBE(UInt32(clamping: facts.maximumTransferBytes / blockSize), at: 4)
        // OPTIMAL TRANSFER LENGTH: the largest transfer the engine serves with one NVMe command -
        // one segment, bounded by the controller (MDTS) and the HBA's segment byte limit; the
        // segment count bounds MAXIMUM TRANSFER LENGTH instead.
        let unsplit = [facts.controllerMaximumTransferBytes ?? 0, facts.maximumSegmentBytes].filter { $0 > 0 }.min() ?? 0
        body.storeBE(UInt32(clamping: unsplit / blockSize), at: 8)
        if facts.supportsDeallocate {
            body.storeBE(facts.maximumDeallocateBlocks, at: 16)         // MAXIMUM UNMAP LBA COUNT
            body.storeBE(UInt32(clamping: facts.maximumDeallocateRanges), at: 20) // ... BLOCK DESCRIPTOR COUNT
            if namespace.nsfeat & 0x10 != 0 {
                body.storeBE(UInt32(namespace.npdg) + 1, at: 24)       // OPTIMAL UNMAP GRANULARITY
            }
        }
        return body
    }

    /// Block Device Characteristics (SBC-4 6.6.2): non-rotating medium.
    static func blockDeviceCharacteristics() -> [UInt8] {
        var body = [UInt8](repeating: 0, count: 60)
        body[1] = 0x01                                                  // MEDIUM ROTATION RATE 0001h
        return body
    }

    /// Logical Block Provisioning (SBC-4 6.6.6). Without deallocation the unit is fully
    /// provisioned (LBPME 0 in READ CAPACITY (16)), and then SBC-4 4.7 leaves nothing to report:
    /// no UNMAP, no WRITE SAME with UNMAP, LBPRZ 0 and PROVISIONING TYPE 000b.
    static func logicalBlockProvisioning(_ request: Request) -> [UInt8] {
        var body = [UInt8](repeating: 0, count: 4)
        guard request.facts.supportsDeallocate else { return body }
        let namespace = request.lu.namespace
        body[1] = 0xE0                                                  // LBPU, LBPWS, LBPWS10
        if namespace.deallocatedBlocksReadZero { body[1] |= 0x04 }      // LBPRZ 001b
        body[2] = namespace.nsfeat & 0x01 != 0 ? 0x02 : 0x01            // thin, else resource provisioned
        return body
    }
}
