import NVMe

/// One namespace's size, as the LBA checks need it.
struct NamespaceGeometry {
    let blockSize: Int
    let blockCount: UInt64

    /// Whether `count` blocks from `lba` lie inside the namespace (overflow-safe).
    @inline(__always)
    func contains(lba: UInt64, count: UInt64) -> Bool {
        lba < blockCount && count <= blockCount - lba
    }
}

/// The checks an LBA command passes before any data moves (NVM Command Set 1.0, 3.3; NVMe Base
/// 2.0, 4.1 PSDT), in plain values: `executeIO` and the queue pairs' fast paths call the same
/// functions, and copying this never touches a reference count that two threads share.
/// Fixed for the controller's life (the mock's namespaces are all active and never resized).
struct BlockCommandChecks {
    let sglSupported: Bool
    let maximumTransferBytes: Int?
    /// One per namespace, NSID 1 first; owned by `ControllerState.namespaceGeometryStorage`.
    let geometry: UnsafePointer<NamespaceGeometry>
    let namespaceCount: Int

    /// PSDT: PRP, or SGL when advertised; 10b (metadata SGL) is not supported, 11b is reserved.
    @inline(__always)
    func checkDataPointerType(_ entry: SubmissionQueueEntry) throws(CommandFailure) {
        let pointer = entry.declaredDataPointer
        guard pointer == .prp || (pointer == .sglContiguousMetadata && sglSupported) else {
            throw CommandFailure(.invalidFieldInCommand)
        }
    }

    /// The index of active namespace `nsid`; 0, FFFFFFFFh and unknown NSIDs are Invalid
    /// Namespace or Format (every namespace of the mock is active).
    @inline(__always)
    func activeNamespaceIndex(_ nsid: UInt32) throws(CommandFailure) -> Int {
        let index = Int(nsid) &- 1
        guard nsid != 0, index < namespaceCount else { throw CommandFailure(.invalidNamespaceOrFormat) }
        return index
    }

    /// The bytes an LBA command (Read, Write, Compare, Verify, Write Zeroes) addresses on
    /// namespace `index`, once its blocks lie inside the namespace and, when data moves, MDTS allows it.
    @inline(__always)
    func transferBytes(_ entry: SubmissionQueueEntry, _ opcode: NVMOpcode, _ index: Int) throws(CommandFailure) -> Int {
        let namespace = geometry[index]
        let count = UInt64(entry.blockCount)
        guard namespace.contains(lba: entry.startingLBA, count: count) else { throw CommandFailure(.lbaOutOfRange) }
        let bytes = Int(count) * namespace.blockSize
        if opcode != .verify, opcode != .writeZeroes, let limit = maximumTransferBytes, bytes > limit {
            throw CommandFailure(.invalidFieldInCommand)
        }
        return bytes
    }
}

/// The memory behind `BlockCommandChecks.geometry` (a class so the state struct needs no deinit).
final class NamespaceGeometryStorage {
    let geometry: UnsafeMutableBufferPointer<NamespaceGeometry>

    init(_ namespaces: [MockNamespace]) {
        geometry = .allocate(capacity: max(1, namespaces.count))
        for (index, namespace) in namespaces.enumerated() {
            (geometry.baseAddress! + index).initialize(to: NamespaceGeometry(blockSize: namespace.blockSize, blockCount: namespace.blockCount))
        }
    }

    deinit { geometry.deallocate() }
}
