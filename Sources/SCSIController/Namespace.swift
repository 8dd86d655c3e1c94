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
/// copies a few integers, not a `Namespace` with the arrays of its Identify data.
struct NamespaceGeometry {
    let id: UInt32
    let blockSize: Int
    let blockCount: UInt64
    /// The most blocks one Read (or Compare) and one Write may carry: the HBA constraints' segment
    /// byte count in each direction, and no more than NLB's 65536.
    let blocksPerRead: Int
    let blocksPerWrite: Int

    init(_ namespace: Namespace, constraints: HBAConstraints) {
        id = namespace.id
        blockSize = namespace.blockSize
        blockCount = namespace.blockCount
        let nlbLimit = CommandLimits.blocksPerCommand.upperBound
        blocksPerRead = min(constraints.segmentBytes(write: false) / namespace.blockSize, nlbLimit)
        blocksPerWrite = min(constraints.segmentBytes(write: true) / namespace.blockSize, nlbLimit)
    }
}
