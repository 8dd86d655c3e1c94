/// INQUIRY (SPC-5 6.7; Reference "INQUIRY"): standard data here, VPD pages in VPDPages.swift.
enum Inquiry {
    static func translate(_ request: Request) throws(SenseCondition) -> TranslationPlan {
        let evpd = request.cdb[1] & 0x01 != 0
        let pageCode = request.cdb[2]
        let allocationLength = Int(request.cdb.be16(at: 3))
        guard evpd else {
            // PAGE CODE must be zero without EVPD (SPC-5).
            if pageCode != 0 { throw .invalidCDB(byte: 2) }
            return request.data(standard(request), allocationLength: allocationLength)
        }
        // VPD pages describe a logical unit; an absent one has none to describe.
        guard request.unit != nil else { throw .lunNotSupported }
        guard let page = VPDPages.page(pageCode, request) else { throw .invalidCDB(byte: 2) }
        return request.data(page, allocationLength: allocationLength)
    }

    /// VERSION DESCRIPTORs (SPC-5 6.7.2, bytes 58-73, "no version claimed" codes): SAM-5
    /// (00A0h), SPC-4 (0460h, as VERSION says) and SBC-3 (04C0h), whose Block Limits page of 3Ch
    /// bytes and READ CAPACITY (16) this device has. Initiators read SBC-3 support here.
    static let versionDescriptors: [UInt16] = [0x00A0, 0x0460, 0x04C0]

    /// 74 bytes of standard INQUIRY data: the 36 the Reference describes, then the version
    /// descriptors (an initiator that asks for 36 bytes gets exactly those).
    static func standard(_ request: Request) -> [UInt8] {
        var data = [UInt8](repeating: 0, count: 74)
        guard let unit = request.unit else {
            // Peripheral qualifier 011b, device type 1Fh: no logical unit at this LUN (SPC-5 6.7.2).
            data[0] = 0x7F
            data[2] = 0x06
            data[3] = 0x02
            data[4] = UInt8(data.count - 5)
            return data
        }
        data[0] = 0x00                                  // qualifier 000b, direct access block device
        data[2] = 0x06                                  // VERSION: SPC-4
        data[3] = 0x02                                  // RESPONSE DATA FORMAT 2
        data[4] = UInt8(data.count - 5)                 // ADDITIONAL LENGTH
        data[6] = unit.namespace.nmic & 0x01 != 0 ? 0x10 : 0x00 // MULTIP: namespace may be shared
        data[7] = 0x02                                  // CMDQUE
        data.replaceSubrange(8..<16, with: [UInt8].ascii("NVMe", length: 8))
        data.replaceSubrange(16..<32, with: [UInt8].ascii(request.facts.controller.modelNumber, length: 16))
        data.replaceSubrange(32..<36, with: [UInt8].ascii(revision(request.facts.controller.firmwareRevision), length: 4))
        for (index, descriptor) in versionDescriptors.enumerated() { data.storeBE(descriptor, at: 58 + 2 * index) }
        return data
    }

    /// PRODUCT REVISION LEVEL: the last four non-space characters of the firmware revision
    /// (Reference: "the last 4 bytes of FR that are not ASCII spaces").
    static func revision(_ firmware: String) -> String {
        let trimmed = firmware.utf8.reversed().drop { $0 == UInt8(ascii: " ") || $0 == 0 }.reversed()
        return String(decoding: trimmed.suffix(4), as: UTF8.self)
    }
}
