import Foundation
import HexFormat
import NVMe
import SCSIController

/// What `info` shows, as plain values (tests compare them with the mock's configuration).
struct InfoReport: Encodable, Sendable {
    struct PowerState: Encodable, Sendable {
        var state: Int
        /// Maximum power in watts (MP scaled by MXPS).
        var maximumWatts: Double
        var operational: Bool
        var entryLatencyMicroseconds: UInt32
        var exitLatencyMicroseconds: UInt32
    }
    struct NamespaceInfo: Encodable, Sendable {
        var nsid: UInt32
        var blocks: UInt64
        var bytes: UInt64
        var lbaFormat: Int
        var blockSize: Int
        var metadataBytes: Int
        var nguid: String?
        var eui64: String?
    }

    var device: String
    var pciVendor: String
    var pciSubsystemVendor: String
    var model: String
    var serial: String
    var firmware: String
    /// VS register, major.minor.tertiary.
    var version: String
    var controllerID: UInt16
    var mdts: UInt8
    /// MDTS in bytes; nil when MDTS is 0 (no limit).
    var mdtsBytes: Int?
    /// The most one command carries as the driver runs it (MDTS, or the driver's cap, in whole blocks).
    var maximumCommandBytes: Int
    var ioQueuesAsked: Int
    /// I/O queue pairs granted and created.
    var ioQueuesGranted: Int
    /// CAP.MQES + 1: entries the largest queue may have.
    var maximumQueueEntries: Int
    var minimumPageBytes: Int
    var maximumPageBytes: Int
    var pageBytesInUse: Int
    var volatileWriteCachePresent: Bool
    var volatileWriteCacheEnabled: Bool
    var sgls: UInt32
    var sglSupport: String
    var dataPointers: String
    var oncs: UInt16
    var optionalNVMCommands: [String]
    var oacs: UInt16
    var optionalAdminCommands: [String]
    var doorbellBufferConfig: Bool
    var powerStates: [PowerState]
    var namespaces: [NamespaceInfo]
    var constraints: [ConstraintRow]

    init(_ controller: NVMeController, device: String, queuesAsked: Int) {
        let id = controller.identify
        let cap = controller.capabilities
        self.device = device
        pciVendor = hex(id.vid, width: 4)
        pciSubsystemVendor = hex(id.ssvid, width: 4)
        (model, serial, firmware) = (id.modelNumber, id.serialNumber, id.firmwareRevision)
        version = controller.version.description
        controllerID = id.cntlid
        mdts = id.mdts
        mdtsBytes = id.maximumTransferBytes(minimumPageSize: cap.minimumPageSize)
        maximumCommandBytes = controller.maximumCommandBytes
        ioQueuesAsked = queuesAsked
        ioQueuesGranted = controller.ioQueues.count
        maximumQueueEntries = cap.maximumQueueEntries
        (minimumPageBytes, maximumPageBytes, pageBytesInUse) = (cap.minimumPageSize, cap.maximumPageSize, controller.pageSize)
        volatileWriteCachePresent = id.volatileWriteCachePresent
        volatileWriteCacheEnabled = controller.volatileWriteCacheEnabled
        sgls = id.sgls
        sglSupport = switch id.sgls & 0b11 {
        case 0b01: "supported, byte aligned"
        case 0b10: "supported, data blocks dword aligned"
        case 0b00: "not supported"
        default: "reserved (11b)"
        }
        dataPointers = controller.usesSGL ? "SGL" : "PRP"
        oncs = id.oncs.rawValue
        optionalNVMCommands = Self.bitNames(UInt32(id.oncs.rawValue), Self.oncsNames)
        oacs = id.oacs
        optionalAdminCommands = Self.bitNames(UInt32(id.oacs), Self.oacsNames)
        doorbellBufferConfig = id.supportsDoorbellBufferConfig
        powerStates = id.powerStates.enumerated().map { index, state in
            PowerState(state: index, maximumWatts: Double(state.maximumPower) * (state.maximumPowerScale ? 0.0001 : 0.01),
                       operational: !state.nonOperational, entryLatencyMicroseconds: state.entryLatency,
                       exitLatencyMicroseconds: state.exitLatency)
        }
        namespaces = controller.namespaces.map { ns in
            let format = ns.identify.formattedLBAFormat
            return NamespaceInfo(nsid: ns.id, blocks: ns.blockCount, bytes: ns.capacityBytes,
                                 lbaFormat: ns.identify.formattedLBAIndex, blockSize: ns.blockSize,
                                 metadataBytes: Int(format.metadataSize),
                                 nguid: Self.identifier(ns.identify.nguid), eui64: Self.identifier(ns.identify.eui64))
        }
        constraints = ConstraintRow.rows(of: controller)
    }

    /// ONCS bits (Identify Controller bytes 521:520), NVMe Base 2.0.
    static let oncsNames = ["Compare", "Write Uncorrectable", "Dataset Management", "Write Zeroes",
                            "Save/Select in Features", "Reservations", "Timestamp", "Verify", "Copy"]
    /// OACS bits (Identify Controller bytes 257:256), NVMe Base 2.0.
    static let oacsNames = ["Security Send/Receive", "Format NVM", "Firmware Download/Commit", "Namespace Management",
                            "Device Self-test", "Directives", "NVMe-MI Send/Receive", "Virtualization Management",
                            "Doorbell Buffer Config", "Get LBA Status", "Command and Feature Lockdown"]

    /// The names of the set bits of `value`; a set bit without a name as "bit n".
    static func bitNames(_ value: UInt32, _ names: [String]) -> [String] {
        (0..<32).filter { value & (1 << $0) != 0 }.map { $0 < names.count ? names[$0] : "bit \($0)" }
    }

    /// An identifier in hex, nil when all zero (the spec's "not reported").
    static func identifier(_ bytes: [UInt8]) -> String? {
        bytes.allSatisfy { $0 == 0 } ? nil : hexBytes(bytes)
    }

    var text: String {
        var lines: [String] = ["device: \(device)"]
        lines.append("vendor: \(pciVendor) (subsystem \(pciSubsystemVendor))")
        lines.append("model: \(model)")
        lines.append("serial: \(serial)")
        lines.append("firmware: \(firmware)")
        lines.append("version: \(version) (controller ID \(controllerID))")
        let mdtsText: String = mdtsBytes.map { "\($0) bytes per command" } ?? "no limit"
        lines.append("MDTS: \(mdts) -> \(mdtsText) (the driver carries at most \(maximumCommandBytes) per command)")
        lines.append("I/O queues: \(ioQueuesGranted) granted (asked \(ioQueuesAsked)); "
            + "MQES \(maximumQueueEntries - 1) (up to \(maximumQueueEntries) entries a queue)")
        lines.append("page sizes: \(minimumPageBytes) to \(maximumPageBytes) bytes (CAP.MPSMIN/MPSMAX); in use \(pageBytesInUse)")
        let cache: String = volatileWriteCachePresent ? "present, \(volatileWriteCacheEnabled ? "enabled" : "disabled")" : "none"
        lines.append("volatile write cache: \(cache)")
        lines.append("SGL support: \(sglSupport) (SGLS \(hex(sgls, width: 8))); data pointers in use: \(dataPointers)")
        let oncsText: String = optionalNVMCommands.isEmpty ? "none" : optionalNVMCommands.joined(separator: ", ")
        lines.append("ONCS \(hex(oncs, width: 4)): \(oncsText)")
        let oacsText: String = optionalAdminCommands.isEmpty ? "none" : optionalAdminCommands.joined(separator: ", ")
        lines.append("OACS \(hex(oacs, width: 4)): \(oacsText); "
            + "Doorbell Buffer Config \(doorbellBufferConfig ? "supported" : "not supported")")
        lines.append("power states:")
        for state in powerStates {
            lines.append("  PS\(state.state): \(String(format: "%.4g", state.maximumWatts)) W max, "
                + "\(state.operational ? "operational" : "non-operational"), "
                + "entry \(state.entryLatencyMicroseconds) us, exit \(state.exitLatencyMicroseconds) us")
        }
        lines.append("namespaces:")
        for ns in namespaces {
            lines.append("  \(ns.nsid): \(ns.blocks) blocks x \(ns.blockSize) bytes = \(ns.bytes) bytes; LBA format \(ns.lbaFormat) "
                + "(\(ns.blockSize)-byte data, \(ns.metadataBytes)-byte metadata); NGUID \(ns.nguid ?? "none"); EUI-64 \(ns.eui64 ?? "none")")
        }
        lines.append("HBA constraints:")
        lines += ConstraintRow.lines(constraints)
        return lines.joined(separator: "\n")
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
