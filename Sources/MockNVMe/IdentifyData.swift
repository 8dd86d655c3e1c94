import NVMe

/// The Identify data structures the mock serves, built from its configuration.
enum IdentifyData {
    static func controller(_ configuration: MockConfiguration) -> IdentifyController {
        var data = IdentifyController()
        data.vid = 0x1B36  // the vendor ID QEMU's emulated devices use; this is a software model too
        data.ssvid = 0x1AF4
        data.serialNumber = configuration.serialNumber
        data.modelNumber = configuration.modelNumber
        data.firmwareRevision = configuration.firmwareRevision
        data.mdts = configuration.mdts
        data.cntlid = 1
        data.ver = ControllerVersion(major: 2, minor: 0).rawValue
        data.acl = configuration.acl
        data.aerl = configuration.aerl
        data.elpe = UInt8(configuration.errorLogEntries - 1)
        data.sqes = 0x66
        data.cqes = 0x44
        data.nn = UInt32(configuration.namespaces.count)
        data.oncs = configuration.optionalNVMCommands
        // OACS bit 8: Doorbell Buffer Config (shadow doorbells).
        data.oacs = configuration.doorbellBufferConfig ? 1 << 8 : 0
        data.fuses = configuration.compareAndWrite ? 1 : 0
        // VWC bit 0: present; bits 2:1 = 11b: Flush with NSID FFFFFFFFh applies to every namespace.
        data.vwc = configuration.volatileWriteCache ? 0b111 : 0
        // SGLS bits 1:0 = 01b: SGLs supported, no alignment requirement.
        data.sgls = configuration.sglSupported ? 0b01 : 0
        data.subnqn = "nqn.2014-08.org.nvmexpress:uuid:swiftnvme-mock"
        data.powerStates = configuration.powerStates
        data.npss = UInt8(configuration.powerStates.count - 1)  // validated: 1...32 states
        return data
    }

    static func namespace(_ namespace: MockNamespace) -> IdentifyNamespace {
        var data = IdentifyNamespace()
        data.nsze = namespace.blockCount
        data.ncap = namespace.blockCount
        data.nuse = namespace.blockCount
        data.nlbaf = 0
        data.flbas = 0
        data.lbaFormats = [LBAFormat(metadataSize: 0, lbaDataSizeShift: UInt8(namespace.blockShift))]
        // DLFEAT: bits 2:0 = 001b deallocated blocks read as zeros; bit 3: Write Zeroes may deallocate.
        data.dlfeat = 0b1001
        // All zeros when absent: the spec's "not reported" value.
        data.nguid = namespace.nguid ?? Array(repeating: 0, count: 16)
        data.eui64 = namespace.eui64 ?? Array(repeating: 0, count: 8)
        return data
    }

    /// The Namespace Identification Descriptor list (CNS 03h): EUI64, NGUID, UUID, each that the
    /// namespace has, as NIDT, NIDL, two reserved bytes and the identifier; the zeros after the
    /// last descriptor end the list. `bytes` is zeroed 4096 bytes.
    static func identificationDescriptors(_ namespace: MockNamespace, into bytes: UnsafeMutableRawBufferPointer) {
        var offset = 0
        let identifiers: [(NamespaceIdentifierType, [UInt8]?)] = [(.eui64, namespace.eui64), (.nguid, namespace.nguid), (.uuid, namespace.uuid)]
        for (type, value) in identifiers {
            guard let value else { continue }
            bytes[offset] = type.rawValue
            bytes[offset + 1] = UInt8(type.length)
            for (index, byte) in value.prefix(type.length).enumerated() {
                bytes[offset + NamespaceIdentifierType.headerSize + index] = byte
            }
            offset += NamespaceIdentifierType.headerSize + type.length
        }
    }
}
