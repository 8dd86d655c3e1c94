import NVMe
import PCIDevice

/// SGL rules (NVMe Base 2.0, 4.1.2): SGL1 is a Data Block, a Segment or a Last Segment; a
/// Segment's last descriptor chains to the next segment, a Last Segment holds Data Blocks only;
/// the Data Blocks must describe exactly the transfer length (SGLS bit 16 is clear: the mock
/// does not accept an SGL longer than the data).
extension DataTransferWalker {
    mutating func mapSGL(_ first: SGLDescriptor, length: Int, access: DMAAccess) throws(CommandFailure) {
        var total = 0
        switch first.type {
        case .dataBlock?:
            try appendDataBlock(first, &total, length, access)
        case .segment?, .lastSegment?:
            try walkSegments(from: first, &total, length, access)
        default:
            throw CommandFailure(.sglDescriptorTypeInvalid, at: first.address, .sglDescriptorType(first.identifier >> 4))
        }
        guard total == length else {
            throw CommandFailure(.dataSGLLengthInvalid, at: first.address, .sglLengthMismatch(described: total, transfer: length))
        }
    }

    private mutating func walkSegments(from first: SGLDescriptor, _ total: inout Int, _ length: Int, _ access: DMAAccess) throws(CommandFailure) {
        var pointer = first
        var seen = 0
        while true {
            guard pointer.subtype == 0 else {
                throw CommandFailure(.sglDescriptorTypeInvalid, at: pointer.address, .sglSubtype(pointer.subtype))
            }
            let bytes = Int(pointer.length)
            guard bytes > 0, bytes % SGLDescriptor.size == 0 else {
                throw CommandFailure(.invalidSGLSegmentDescriptor, at: pointer.address, .sglSegmentLength(pointer.length))
            }
            let count = bytes / SGLDescriptor.size
            seen += count
            guard seen <= Self.sglDescriptorLimit else {
                throw CommandFailure(.invalidNumberOfSGLDescriptors, at: pointer.address, .sglTooManyDescriptors)
            }
            let isLast = pointer.type == .lastSegment
            let memory = try translate(pointer.address, bytes, .deviceReads)
            var next: SGLDescriptor?
            for index in 0..<count {
                let low = UInt64(littleEndian: memory.loadUnaligned(fromByteOffset: index * 16, as: UInt64.self))
                let high = UInt64(littleEndian: memory.loadUnaligned(fromByteOffset: index * 16 + 8, as: UInt64.self))
                let descriptor = SGLDescriptor(low: low, high: high)
                switch descriptor.type {
                case .dataBlock?:
                    try appendDataBlock(descriptor, &total, length, access)
                case .segment?, .lastSegment?:
                    // Only a Segment may chain, and only from its last descriptor.
                    guard !isLast, index == count - 1 else {
                        throw CommandFailure(.invalidSGLSegmentDescriptor, at: descriptor.address, .sglSegmentMisplaced)
                    }
                    next = descriptor
                default:
                    throw CommandFailure(.sglDescriptorTypeInvalid, at: descriptor.address, .sglDescriptorType(descriptor.identifier >> 4))
                }
            }
            guard let following = next else {
                guard isLast else { throw CommandFailure(.invalidSGLSegmentDescriptor, at: pointer.address, .sglSegmentMisplaced) }
                return
            }
            pointer = following
        }
    }

    private mutating func appendDataBlock(_ descriptor: SGLDescriptor, _ total: inout Int, _ length: Int, _ access: DMAAccess) throws(CommandFailure) {
        guard descriptor.subtype == 0 else {
            throw CommandFailure(.sglDescriptorTypeInvalid, at: descriptor.address, .sglSubtype(descriptor.subtype))
        }
        let bytes = Int(descriptor.length)
        guard bytes <= length - total else {
            throw CommandFailure(.dataSGLLengthInvalid, at: descriptor.address,
                                 .sglLengthMismatch(described: total + bytes, transfer: length))
        }
        total += bytes
        if bytes > 0 { try append(descriptor.address, bytes, access) }
    }
}
