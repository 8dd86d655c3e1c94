import HexFormat

/// The HBA constraint keys, named as DriverKit's UserReportHBAConstraints and
/// UserGetDMASpecification name them, so a message can point at the exact key.
public enum HBAConstraintKey: String, Sendable, CaseIterable {
    case maximumSegmentCountRead = "kIOMaximumSegmentCountReadKey"
    case maximumSegmentCountWrite = "kIOMaximumSegmentCountWriteKey"
    case maximumSegmentByteCountRead = "kIOMaximumSegmentByteCountReadKey"
    case maximumSegmentByteCountWrite = "kIOMaximumSegmentByteCountWriteKey"
    case minimumSegmentAlignmentByteCount = "kIOMinimumSegmentAlignmentByteCountKey"
    case maximumSegmentAddressableBitCount = "kIOMaximumSegmentAddressableBitCountKey"
    case minimumHBADataAlignmentMask = "kIOMinimumHBADataAlignmentMaskKey"
    case maxTransferSize = "maxTransferSize"
    case dmaAlignment = "dmaAlignment"

    /// The key's field in a caller's overrides and in validated constraints: the one place that
    /// pairs each key with its fields, so code about "every key" loops over `allCases`.
    fileprivate var fields: (overrides: WritableKeyPath<HBAConstraintOverrides, Int?>, constraints: KeyPath<HBAConstraints, Int>) {
        switch self {
        case .maximumSegmentCountRead: (\.maximumSegmentCountRead, \.maximumSegmentCountRead)
        case .maximumSegmentCountWrite: (\.maximumSegmentCountWrite, \.maximumSegmentCountWrite)
        case .maximumSegmentByteCountRead: (\.maximumSegmentByteCountRead, \.maximumSegmentByteCountRead)
        case .maximumSegmentByteCountWrite: (\.maximumSegmentByteCountWrite, \.maximumSegmentByteCountWrite)
        case .minimumSegmentAlignmentByteCount: (\.minimumSegmentAlignmentByteCount, \.minimumSegmentAlignmentByteCount)
        case .maximumSegmentAddressableBitCount: (\.maximumSegmentAddressableBitCount, \.maximumSegmentAddressableBitCount)
        case .minimumHBADataAlignmentMask: (\.minimumHBADataAlignmentMask, \.minimumHBADataAlignmentMask)
        case .maxTransferSize: (\.maxTransferSize, \.maxTransferSize)
        case .dmaAlignment: (\.dmaAlignment, \.dmaAlignment)
        }
    }

    /// `value` as messages and reports show this key's values: the alignment mask in hex, the
    /// others in decimal.
    public func text(_ value: Int) -> String { self == .minimumHBADataAlignmentMask ? hex(value) : "\(value)" }
}

/// A caller's HBA configuration. Every field is optional so that a missing key is representable
/// and can be refused by name, instead of silently defaulting as DriverKit did in the seed thread.
public struct HBAConstraintOverrides: Sendable, Equatable {
    /// kIOMaximumSegmentCountReadKey: most segments (NVMe commands) one read may be cut into.
    /// Required, greater than zero; with `maximumSegmentByteCountRead` it bounds a read, and
    /// their product must not exceed `maxTransferSize`.
    public var maximumSegmentCountRead: Int?
    /// kIOMaximumSegmentCountWriteKey: most segments (NVMe commands) one write may be cut into.
    /// Required, greater than zero; with `maximumSegmentByteCountWrite` it bounds a write, and
    /// their product must not exceed `maxTransferSize`.
    public var maximumSegmentCountWrite: Int?
    /// kIOMaximumSegmentByteCountReadKey: most bytes one NVMe Read carries. Required, greater
    /// than zero, at most the controller's per-command limit (`ControllerLimits.maximumCommandBytes`,
    /// from MDTS) and a multiple of the logical block size, so segments hold whole blocks.
    public var maximumSegmentByteCountRead: Int?
    /// kIOMaximumSegmentByteCountWriteKey: most bytes one NVMe Write carries. Required, greater
    /// than zero, at most the controller's per-command limit (`ControllerLimits.maximumCommandBytes`,
    /// from MDTS) and a multiple of the logical block size, so segments hold whole blocks.
    public var maximumSegmentByteCountWrite: Int?
    /// kIOMinimumSegmentAlignmentByteCountKey: byte alignment a buffer's IOVA must have. Required:
    /// a power of two, at least the controller's `ControllerLimits.dataAlignment` (4).
    public var minimumSegmentAlignmentByteCount: Int?
    /// kIOMaximumSegmentAddressableBitCountKey: width in bits of the DMA addresses the HBA can
    /// generate. Required: at most 64 and at least `ControllerLimits.iovaBits`, so every IOVA the
    /// allocator hands out is addressable.
    public var maximumSegmentAddressableBitCount: Int?
    /// kIOMinimumHBADataAlignmentMaskKey: alignment as a mask of low address bits that must be
    /// zero (3 for dword alignment). Required: greater than zero, one less than a power of two,
    /// and mask + 1 at least the controller's `ControllerLimits.dataAlignment` (4).
    public var minimumHBADataAlignmentMask: Int?
    /// maxTransferSize (UserGetDMASpecification): most bytes one task may carry. Required: a
    /// multiple of the logical block size and at least segment count x segment byte count in both
    /// directions, since a smaller value would refuse the larger requests later, not at start.
    public var maxTransferSize: Int?
    /// dmaAlignment (UserGetDMASpecification): byte alignment a buffer's IOVA must have. Required:
    /// a power of two, at least the controller's `ControllerLimits.dataAlignment` (4).
    public var dmaAlignment: Int?

    /// An override set; each key left out is nil, which `HBAConstraints.validated(_:against:)`
    /// refuses by name rather than filling in.
    public init(maximumSegmentCountRead: Int? = nil, maximumSegmentCountWrite: Int? = nil,
                maximumSegmentByteCountRead: Int? = nil, maximumSegmentByteCountWrite: Int? = nil,
                minimumSegmentAlignmentByteCount: Int? = nil, maximumSegmentAddressableBitCount: Int? = nil,
                minimumHBADataAlignmentMask: Int? = nil, maxTransferSize: Int? = nil, dmaAlignment: Int? = nil) {
        self.maximumSegmentCountRead = maximumSegmentCountRead
        self.maximumSegmentCountWrite = maximumSegmentCountWrite
        self.maximumSegmentByteCountRead = maximumSegmentByteCountRead
        self.maximumSegmentByteCountWrite = maximumSegmentByteCountWrite
        self.minimumSegmentAlignmentByteCount = minimumSegmentAlignmentByteCount
        self.maximumSegmentAddressableBitCount = maximumSegmentAddressableBitCount
        self.minimumHBADataAlignmentMask = minimumHBADataAlignmentMask
        self.maxTransferSize = maxTransferSize
        self.dmaAlignment = dmaAlignment
    }

    /// The value given for `key`, nil when left out.
    public subscript(key: HBAConstraintKey) -> Int? {
        get { self[keyPath: key.fields.overrides] }
        set { self[keyPath: key.fields.overrides] = newValue }
    }
}

/// What the controller can take, as validated constraints. A "segment" is what one NVMe command
/// carries: the breaker cuts a task's single IOVA segment into segments of at most
/// `maximumSegmentByteCount` bytes, and a task of at most `maxTransferSize` bytes is one transfer.
public struct HBAConstraints: Sendable, Equatable, CustomStringConvertible {
    /// kIOMaximumSegmentCountReadKey: most NVMe Reads one read request is cut into; a read larger
    /// than this x `maximumSegmentByteCountRead` is refused (`largestTransfer(write:)`). Derived:
    /// `maxTransferSize` / `maximumSegmentByteCountRead`.
    public let maximumSegmentCountRead: Int
    /// kIOMaximumSegmentCountWriteKey: most NVMe Writes one write request is cut into; a write
    /// larger than this x `maximumSegmentByteCountWrite` is refused (`largestTransfer(write:)`).
    /// Derived: `maxTransferSize` / `maximumSegmentByteCountWrite`.
    public let maximumSegmentCountWrite: Int
    /// kIOMaximumSegmentByteCountReadKey: most bytes one NVMe Read carries, a multiple of the
    /// block size and at most the controller's per-command limit (MDTS). The breaker cuts reads
    /// at this size (and at 65536 blocks, the NLB field's reach). Derived: the per-command limit.
    public let maximumSegmentByteCountRead: Int
    /// kIOMaximumSegmentByteCountWriteKey: most bytes one NVMe Write carries, a multiple of the
    /// block size and at most the controller's per-command limit (MDTS). The breaker cuts writes
    /// at this size (and at 65536 blocks), and WRITE SAME stages at most this much. Derived: the
    /// per-command limit.
    public let maximumSegmentByteCountWrite: Int
    /// kIOMinimumSegmentAlignmentByteCountKey: byte alignment (a power of two, at least 4) a
    /// request's buffer IOVA must have; checked on the buffer's start through `requiredAlignment`.
    /// Derived: `ControllerLimits.dataAlignment`.
    public let minimumSegmentAlignmentByteCount: Int
    /// kIOMaximumSegmentAddressableBitCountKey: DMA address width in bits (at most 64, at least the
    /// allocator's IOVA width); a request whose buffer IOVA is at or above 2^bits is refused.
    /// Derived: `ControllerLimits.iovaBits`.
    public let maximumSegmentAddressableBitCount: Int
    /// kIOMinimumHBADataAlignmentMaskKey: alignment as a mask (one less than a power of two) of the
    /// IOVA bits that must be zero; mask + 1 enters `requiredAlignment`. Derived:
    /// `ControllerLimits.dataAlignment` - 1 (3, dword alignment).
    public let minimumHBADataAlignmentMask: Int
    /// maxTransferSize (UserGetDMASpecification): most bytes one task may carry, a multiple of the
    /// block size and at least segment count x segment byte count in each direction. Reported to
    /// translation as `DeviceFacts.maximumTransferBytes` (VPD B0h MAXIMUM TRANSFER LENGTH).
    /// Derived: the largest multiple of the segment byte count within `defaultMaxTransferSize`
    /// (one segment when a segment is larger).
    public let maxTransferSize: Int
    /// dmaAlignment (UserGetDMASpecification): byte alignment (a power of two, at least 4) a
    /// request's buffer IOVA must have; enters `requiredAlignment`. Derived:
    /// `ControllerLimits.dataAlignment`.
    public let dmaAlignment: Int

    /// What the controller itself imposes; overrides are checked against it.
    public struct ControllerLimits: Sendable, Equatable {
        /// Largest transfer of one NVMe command in bytes (MDTS, or the driver's cap when MDTS is 0).
        public var maximumCommandBytes: Int
        /// Logical block size of the namespace(s) in bytes; segments carry whole blocks.
        public var blockSize: Int
        /// Address width of the IOVA range the allocator hands out.
        public var iovaBits: Int
        /// Data pointer alignment the controller requires (4: PRP entries and SGL data blocks are dword aligned).
        public var dataAlignment: Int
        /// Limits as bring-up reads them from the controller and its namespaces; `dataAlignment`
        /// defaults to the dword alignment a PRP entry needs (NVMe Base 2.0, 4.1.1).
        public init(maximumCommandBytes: Int, blockSize: Int, iovaBits: Int, dataAlignment: Int = 4) {
            self.maximumCommandBytes = maximumCommandBytes
            self.blockSize = blockSize
            self.iovaBits = iovaBits
            self.dataAlignment = dataAlignment
        }
    }

    /// The default transfer a single task may carry: large, as DriverKit's DTS advises (1 GiB).
    public static let defaultMaxTransferSize = 1 << 30

    /// Constraints derived from the controller alone.
    public static func derived(from limits: ControllerLimits) -> HBAConstraints {
        let segmentBytes = limits.maximumCommandBytes
        let transfer = max(defaultMaxTransferSize, segmentBytes)
        let count = transfer / segmentBytes
        return HBAConstraints(
            maximumSegmentCountRead: count, maximumSegmentCountWrite: count,
            maximumSegmentByteCountRead: segmentBytes, maximumSegmentByteCountWrite: segmentBytes,
            minimumSegmentAlignmentByteCount: limits.dataAlignment,
            maximumSegmentAddressableBitCount: limits.iovaBits,
            minimumHBADataAlignmentMask: limits.dataAlignment - 1,
            maxTransferSize: count * segmentBytes,
            dmaAlignment: limits.dataAlignment)
    }

    /// Validates a caller's configuration: every key is required, and the rules the seed thread
    /// learned the hard way are enforced at start, naming the key, the value and the rule.
    public static func validated(_ overrides: HBAConstraintOverrides, against limits: ControllerLimits) throws(ControllerError) -> HBAConstraints {
        func require(_ key: HBAConstraintKey) throws(ControllerError) -> Int {
            guard let value = overrides[key] else {
                throw .unusableValue(key: .constraint(key), value: "missing", rule: "all nine keys are required when the constraints are overridden")
            }
            guard value > 0 else {
                throw .unusableValue(key: .constraint(key), value: "\(value)", rule: "must be greater than zero")
            }
            return value
        }
        func powerOfTwo(_ key: HBAConstraintKey, _ value: Int) throws(ControllerError) {
            guard value & (value - 1) == 0 else {
                throw .unusableValue(key: .constraint(key), value: "\(value)", rule: "must be a power of two")
            }
        }
        var values: [HBAConstraintKey: Int] = [:]
        for key in HBAConstraintKey.allCases { values[key] = try require(key) }
        let v = { (key: HBAConstraintKey) in values[key]! }

        for key in [HBAConstraintKey.maximumSegmentByteCountRead, .maximumSegmentByteCountWrite] {
            guard v(key) <= limits.maximumCommandBytes else {
                throw .unusableValue(key: .constraint(key), value: "\(v(key))",
                    rule: "exceeds the largest transfer one NVMe command can carry (\(limits.maximumCommandBytes) bytes, from MDTS)")
            }
            guard v(key) % limits.blockSize == 0 else {
                throw .unusableValue(key: .constraint(key), value: "\(v(key))",
                    rule: "must be a multiple of the logical block size (\(limits.blockSize) bytes)")
            }
        }
        try powerOfTwo(.minimumSegmentAlignmentByteCount, v(.minimumSegmentAlignmentByteCount))
        try powerOfTwo(.dmaAlignment, v(.dmaAlignment))
        let mask = v(.minimumHBADataAlignmentMask)
        guard (mask + 1) & mask == 0 else {
            throw .unusableValue(key: .constraint(.minimumHBADataAlignmentMask), value: HBAConstraintKey.minimumHBADataAlignmentMask.text(mask),
                rule: "must be one less than a power of two (an alignment mask)")
        }
        for (key, alignment) in [(HBAConstraintKey.minimumSegmentAlignmentByteCount, v(.minimumSegmentAlignmentByteCount)),
                                 (.minimumHBADataAlignmentMask, mask + 1), (.dmaAlignment, v(.dmaAlignment))] {
            guard alignment >= limits.dataAlignment else {
                throw .unusableValue(key: .constraint(key), value: key.text(v(key)),
                    rule: "the controller requires data aligned to at least \(limits.dataAlignment) bytes")
            }
        }
        // The breaker starts piece n at n x the segment byte count, so that count must keep every
        // piece as aligned as the buffer itself, not only the first.
        let strictest = max(v(.minimumSegmentAlignmentByteCount), mask + 1, v(.dmaAlignment))
        for key in [HBAConstraintKey.maximumSegmentByteCountRead, .maximumSegmentByteCountWrite] where v(key) % strictest != 0 {
            throw .unusableValue(key: .constraint(key), value: "\(v(key))",
                rule: "must be a multiple of the strictest alignment key (\(strictest) bytes), so every segment starts aligned")
        }
        let bits = v(.maximumSegmentAddressableBitCount)
        guard bits <= 64, bits >= limits.iovaBits else {
            throw .unusableValue(key: .constraint(.maximumSegmentAddressableBitCount), value: "\(bits)",
                rule: "must cover the IOVA range the allocator hands out (\(limits.iovaBits) bits) and be at most 64")
        }
        let transfer = v(.maxTransferSize)
        for (countKey, bytesKey) in [(HBAConstraintKey.maximumSegmentCountRead, HBAConstraintKey.maximumSegmentByteCountRead),
                                     (.maximumSegmentCountWrite, .maximumSegmentByteCountWrite)] {
            let product = v(countKey).multipliedReportingOverflow(by: v(bytesKey))
            guard !product.overflow, transfer >= product.partialValue else {
                throw .unusableValue(key: .constraint(.maxTransferSize), value: "\(transfer)",
                    rule: "must be at least \(countKey.rawValue) x \(bytesKey.rawValue) = \(v(countKey)) x \(v(bytesKey)) = \(product.partialValue); "
                        + "a smaller maxTransferSize fails every larger request later instead of now")
            }
        }
        guard transfer % limits.blockSize == 0 else {
            throw .unusableValue(key: .constraint(.maxTransferSize), value: "\(transfer)",
                rule: "must be a multiple of the logical block size (\(limits.blockSize) bytes)")
        }
        return HBAConstraints(
            maximumSegmentCountRead: v(.maximumSegmentCountRead), maximumSegmentCountWrite: v(.maximumSegmentCountWrite),
            maximumSegmentByteCountRead: v(.maximumSegmentByteCountRead), maximumSegmentByteCountWrite: v(.maximumSegmentByteCountWrite),
            minimumSegmentAlignmentByteCount: v(.minimumSegmentAlignmentByteCount),
            maximumSegmentAddressableBitCount: bits, minimumHBADataAlignmentMask: mask,
            maxTransferSize: transfer, dmaAlignment: v(.dmaAlignment))
    }

    /// The validated value of `key`.
    public subscript(key: HBAConstraintKey) -> Int { self[keyPath: key.fields.constraints] }

    /// Largest bytes one command carries in the given direction.
    public func segmentBytes(write: Bool) -> Int { write ? maximumSegmentByteCountWrite : maximumSegmentByteCountRead }

    /// Largest transfer one request may carry in the given direction: `maxTransferSize`, and no
    /// more segments of the segment byte count than the segment count allows.
    public func largestTransfer(write: Bool) -> Int {
        let segments = write ? maximumSegmentCountWrite : maximumSegmentCountRead
        let product = segments.multipliedReportingOverflow(by: segmentBytes(write: write))
        return product.overflow ? maxTransferSize : min(maxTransferSize, product.partialValue)
    }

    /// Which key (or product of keys) sets `largestTransfer(write:)`, with its value, for messages.
    func largestTransferRule(write: Bool) -> String {
        let countKey: HBAConstraintKey = write ? .maximumSegmentCountWrite : .maximumSegmentCountRead
        let bytesKey: HBAConstraintKey = write ? .maximumSegmentByteCountWrite : .maximumSegmentByteCountRead
        let limit = largestTransfer(write: write)
        if limit == maxTransferSize { return "\(HBAConstraintKey.maxTransferSize.rawValue) = \(maxTransferSize)" }
        return "\(countKey.rawValue) x \(bytesKey.rawValue) = \(limit)"
    }

    /// The strictest alignment any of the alignment keys demands of a task's buffer.
    public var requiredAlignment: Int { max(minimumSegmentAlignmentByteCount, minimumHBADataAlignmentMask + 1, dmaAlignment) }

    /// The key that sets `requiredAlignment`, with its value, for messages.
    var requiredAlignmentRule: String {
        if minimumHBADataAlignmentMask + 1 == requiredAlignment {
            return "\(HBAConstraintKey.minimumHBADataAlignmentMask.rawValue) = \(HBAConstraintKey.minimumHBADataAlignmentMask.text(minimumHBADataAlignmentMask))"
        }
        if minimumSegmentAlignmentByteCount == requiredAlignment {
            return "\(HBAConstraintKey.minimumSegmentAlignmentByteCount.rawValue) = \(minimumSegmentAlignmentByteCount)"
        }
        return "\(HBAConstraintKey.dmaAlignment.rawValue) = \(dmaAlignment)"
    }

    /// The nine keys one per line as `key = value` (the mask in hex), named as DriverKit names them.
    public var description: String {
        HBAConstraintKey.allCases.map { "\($0.rawValue) = \($0.text(self[$0]))" }.joined(separator: "\n")
    }
}
