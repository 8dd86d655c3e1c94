/// Namespace Identifier Type (NIDT) of a Namespace Identification Descriptor (Identify CNS 03h),
/// NVMe Base 2.0 figure "Namespace Identification Descriptor". The raw value's NIDL is `length`.
public enum NamespaceIdentifierType: UInt8, Sendable, CaseIterable {
    /// IEEE Extended Unique Identifier, 8 bytes.
    case eui64 = 0x01
    /// Namespace Globally Unique Identifier, 16 bytes.
    case nguid = 0x02
    /// Namespace UUID, 16 bytes.
    case uuid = 0x03
    /// Command Set Identifier, 1 byte.
    case commandSetIdentifier = 0x04

    /// Namespace Identifier Length (NIDL) in bytes.
    public var length: Int {
        switch self {
        case .eui64: 8
        case .nguid, .uuid: 16
        case .commandSetIdentifier: 1
        }
    }

    /// Bytes before the identifier in a descriptor: NIDT, NIDL and two reserved bytes.
    public static let headerSize = 4
}
