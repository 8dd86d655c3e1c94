import NVMe

/// An active namespace as Identify reported it.
public struct Namespace: Sendable, Equatable {
    /// Namespace identifier.
    public let id: UInt32
    /// Identify Namespace data.
    public let identify: IdentifyNamespace
    /// Logical block size in bytes.
    public var blockSize: Int { identify.blockSize }
    /// Size in logical blocks (NSZE).
    public var blockCount: UInt64 { identify.nsze }
    /// Capacity in bytes.
    public var capacityBytes: UInt64 { identify.nsze * UInt64(identify.blockSize) }
}

/// What a request needs of a namespace, apart from its Identify data: looking it up per request
/// copies three integers, not a `Namespace` with the arrays of its Identify data.
struct NamespaceGeometry {
    let id: UInt32
    let blockSize: Int
    let blockCount: UInt64

    init(_ namespace: Namespace) {
        id = namespace.id
        blockSize = namespace.blockSize
        blockCount = namespace.blockCount
    }
}
