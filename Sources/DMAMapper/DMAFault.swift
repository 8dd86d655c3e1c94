import HexFormat
import PCIDevice

/// A device access the IOMMU refused: what a real IOMMU would log as a DMA remapping fault.
///
/// `SoftwareIOMMU.translate` records and throws one whenever the mock controller reaches for
/// memory the driver did not map for it, so tests can assert the device never strayed.
public struct DMAFault: Error, Sendable, Equatable, CustomStringConvertible {
    /// Why the access was refused.
    public enum Reason: Sendable, Equatable, CustomStringConvertible {
        /// No mapping contains the first byte.
        case unmapped
        /// A mapping contains the range but does not grant the access.
        case accessDenied
        /// The range starts inside a mapping but runs past its end.
        case crossesMappingEnd
        /// The access had a negative length.
        case negativeLength

        /// The reason in a few words, for the fault's description.
        public var description: String {
            switch self {
            case .unmapped: "unmapped"
            case .accessDenied: "access denied"
            case .crossesMappingEnd: "crosses the end of its mapping"
            case .negativeLength: "negative length"
            }
        }
    }

    /// First IOVA the device tried to reach.
    public var iova: UInt64
    /// Bytes the device tried to reach.
    public var length: Int
    /// What the device tried to do.
    public var access: DMAAccess
    /// Why it was refused.
    public var reason: Reason

    /// A fault as the IOMMU records it.
    public init(iova: UInt64, length: Int, access: DMAAccess, reason: Reason) {
        self.iova = iova
        self.length = length
        self.access = access
        self.reason = reason
    }

    /// What the device tried, where, and why it was refused, as a remapping-fault log line reads.
    public var description: String {
        "DMA fault: device \(Self.describe(access)) of \(length) bytes at IOVA \(hex(iova)): \(reason)"
    }

    /// Names an access for messages; a local helper so `DMAAccess` keeps no conformance added here.
    static func describe(_ access: DMAAccess) -> String {
        switch access {
        case .readWrite: "read+write"
        case .deviceReads: "read"
        case .deviceWrites: "write"
        case []: "no access"
        default: "access " + hex(access.rawValue)
        }
    }
}
