import DMAMapper
import HexFormat
import NVMe

/// What the block API checks a request against: the namespaces and the validated HBA
/// constraints, reduced once per queue to the few integers a request compares with. The checks
/// themselves are on the request's path, in Breaker.swift; here is how a refusal or a failed
/// piece is told, off that path.
struct RequestLimits {
    let namespaces: [NamespaceGeometry]
    let largestRead: Int
    let largestWrite: Int
    /// The buffer IOVA bits that must be zero for the alignment (`HBAConstraints.requiredAlignment` - 1).
    let alignmentMask: UInt64
    /// Those and the bits above `maximumSegmentAddressableBitCount`: one test for both rules.
    let forbiddenBits: UInt64

    init(_ core: ControllerCore) {
        let constraints = core.constraints
        namespaces = core.namespaces.map { NamespaceGeometry($0, constraints: constraints) }
        largestRead = constraints.largestTransfer(write: false)
        largestWrite = constraints.largestTransfer(write: true)
        alignmentMask = UInt64(constraints.requiredAlignment - 1)
        let bits = constraints.maximumSegmentAddressableBitCount
        forbiddenBits = alignmentMask | (bits >= 64 ? 0 : ~0 << UInt64(bits))
    }

    /// The rule a request breaks (`refusal`).
    enum Refusal { case noBlocks, pastEnd, bufferTooSmall, tooLarge, misaligned, beyondAddressableBits }
}

extension IOQueue {
    /// The outcome of a transfer the checks in `transfer` refuse (its own arguments again): no
    /// such namespace, an offset outside the buffer, or a `RequestLimits.refusal`.
    @inline(never)
    func refused(nsid: UInt32, lba: UInt64, blocks: Int, write: Bool, buffer: DMABuffer, offset: Int) -> BlockOutcome {
        guard let ns = limits.namespace(nsid) else { return refused("no active namespace \(nsid)", bytes: 0) }
        guard offset >= 0, offset <= buffer.length else {
            return refused("offset \(offset) lies outside the \(buffer.length)-byte buffer", bytes: 0)
        }
        let iova = buffer.iova &+ UInt64(offset)
        let available = buffer.length - offset
        guard let refusal = limits.refusal(ns, lba: lba, blocks: blocks, write: write, iova: iova, available: available) else {
            preconditionFailure("a transfer the limits accept was refused")
        }
        return refused(refusal, ns, lba: lba, blocks: blocks, write: write, iova: iova, available: available)
    }

    /// The outcome of a request that breaks `refusal`, with the message naming the values and the
    /// rule. Nothing was submitted; a request that moves data (`iova` not nil) counts its bytes
    /// as requested.
    @inline(never)
    func refused(_ refusal: RequestLimits.Refusal, _ ns: NamespaceGeometry, lba: UInt64, blocks: Int, write: Bool,
                 iova: UInt64?, available: Int) -> BlockOutcome {
        let constraints = core.constraints
        // Saturating: a refused count can be any Int.
        let product = max(0, blocks).multipliedReportingOverflow(by: ns.blockSize)
        let bytes = product.overflow ? Int.max : product.partialValue
        let message = switch refusal {
        case .noBlocks: "a transfer of \(blocks) blocks; at least one is needed"
        case .pastEnd: "LBA \(lba) + \(blocks) blocks ends past namespace \(ns.id) (\(ns.blockCount) blocks)"
        case .bufferTooSmall: "\(blocks) blocks of \(ns.blockSize) bytes need \(bytes) bytes but the buffer has \(available) from the offset"
        case .tooLarge: "a transfer of \(bytes) bytes exceeds \(constraints.largestTransferRule(write: write))"
        case .misaligned:
            "buffer IOVA \(hex(iova ?? 0)) is not aligned to \(constraints.requiredAlignment) bytes (\(constraints.requiredAlignmentRule))"
        case .beyondAddressableBits:
            "buffer IOVA \(hex(iova ?? 0)) is beyond \(constraints.maximumSegmentAddressableBitCount) addressable bits"
        }
        return refused(message, bytes: iova == nil ? 0 : bytes)
    }
}

/// How a breaker plan's failed command is named.
extension BreakerPlan {
    /// The command's name in errors (made only for an error).
    var name: String {
        switch opcode {
        case .read: "Read"
        case .write: fua ? "Write (FUA)" : "Write"
        case .compare: "Compare"
        case .verify: "Verify"
        case .writeZeroes: "Write Zeroes"
        default: "NVM opcode \(hex(opcode.rawValue))"
        }
    }

    func failure(_ index: Int, status: CompletionStatus) -> ControllerError {
        .ioCommandFailed(command: name, lba: lba + UInt64(index * maxBlocksPerCommand), blocks: blocks(of: index), status: status)
    }
}
