import ArgumentParser
import SCSIController

/// The HBA constraint keys as options, each named exactly as DriverKit names it
/// (`--kIOMaximumSegmentCountReadKey 0x81`), plus UserGetDMASpecification's `--maxTransferSize`
/// and `--dmaAlignment`. Give none to use the constraints derived from the controller; give any,
/// and all nine are required and checked as the engine checks them at start.
struct ConstraintOptions: ParsableArguments {
    // One property per option, as ArgumentParser needs; the name and help come from the key.
    @Option(name: .key(.maximumSegmentCountRead), help: .key(.maximumSegmentCountRead))
    var maximumSegmentCountRead: SizeArgument?
    @Option(name: .key(.maximumSegmentCountWrite), help: .key(.maximumSegmentCountWrite))
    var maximumSegmentCountWrite: SizeArgument?
    @Option(name: .key(.maximumSegmentByteCountRead), help: .key(.maximumSegmentByteCountRead))
    var maximumSegmentByteCountRead: SizeArgument?
    @Option(name: .key(.maximumSegmentByteCountWrite), help: .key(.maximumSegmentByteCountWrite))
    var maximumSegmentByteCountWrite: SizeArgument?
    @Option(name: .key(.minimumSegmentAlignmentByteCount), help: .key(.minimumSegmentAlignmentByteCount))
    var minimumSegmentAlignmentByteCount: SizeArgument?
    @Option(name: .key(.maximumSegmentAddressableBitCount), help: .key(.maximumSegmentAddressableBitCount))
    var maximumSegmentAddressableBitCount: SizeArgument?
    @Option(name: .key(.minimumHBADataAlignmentMask), help: .key(.minimumHBADataAlignmentMask))
    var minimumHBADataAlignmentMask: SizeArgument?
    @Option(name: .key(.maxTransferSize), help: .key(.maxTransferSize))
    var maxTransferSize: SizeArgument?
    @Option(name: .key(.dmaAlignment), help: .key(.dmaAlignment))
    var dmaAlignment: SizeArgument?

    /// The option given for `key`, nil when left out.
    subscript(key: HBAConstraintKey) -> SizeArgument? {
        switch key {
        case .maximumSegmentCountRead: maximumSegmentCountRead
        case .maximumSegmentCountWrite: maximumSegmentCountWrite
        case .maximumSegmentByteCountRead: maximumSegmentByteCountRead
        case .maximumSegmentByteCountWrite: maximumSegmentByteCountWrite
        case .minimumSegmentAlignmentByteCount: minimumSegmentAlignmentByteCount
        case .maximumSegmentAddressableBitCount: maximumSegmentAddressableBitCount
        case .minimumHBADataAlignmentMask: minimumHBADataAlignmentMask
        case .maxTransferSize: maxTransferSize
        case .dmaAlignment: dmaAlignment
        }
    }

    /// The overrides given, or nil when none was (the constraints are then derived).
    var overrides: HBAConstraintOverrides? {
        var overrides = HBAConstraintOverrides()
        for key in HBAConstraintKey.allCases { overrides[key] = self[key]?.value }
        return overrides == HBAConstraintOverrides() ? nil : overrides
    }

    /// The options for bringing a controller up under these constraints: the overrides, and the
    /// addressable bit count handed to the IOVA allocator, so every IOVA stays below 2^bits.
    func apply(to options: inout ControllerOptions) {
        guard let overrides else { return }
        options.constraints = overrides
        if let bits = overrides.maximumSegmentAddressableBitCount, (1...64).contains(bits) {
            options.addressableBits = bits
        }
    }
}

extension NameSpecification {
    /// `--` and the key's name as DriverKit spells it.
    static func key(_ key: HBAConstraintKey) -> NameSpecification { .customLong(key.rawValue) }
}

extension ArgumentHelp {
    /// The key's help line and value name from `HBAConstraintKey.presentation`.
    static func key(_ key: HBAConstraintKey) -> ArgumentHelp {
        ArgumentHelp(key.presentation.help, valueName: key.presentation.valueName)
    }
}

/// `--pointers prp|sgl|auto`: how commands carry their data pointers.
enum PointerChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
    case auto, prp, sgl

    /// The engine's mode for this choice.
    var mode: DataPointerMode {
        switch self {
        case .auto: .automatic
        case .prp: .prp
        case .sgl: .sgl
        }
    }
}
