import ArgumentParser
import SCSIController

/// The HBA constraint keys as options, each named exactly as DriverKit names it
/// (`--kIOMaximumSegmentCountReadKey 0x81`), plus UserGetDMASpecification's `--maxTransferSize`
/// and `--dmaAlignment`. Give none to use the constraints derived from the controller; give any,
/// and all nine are required and checked as the engine checks them at start.
struct ConstraintOptions: ParsableArguments {
    @Option(name: .customLong(HBAConstraintKey.maximumSegmentCountRead.rawValue),
            help: ArgumentHelp("Most NVMe Reads one read is cut into.", valueName: "n"))
    var maximumSegmentCountRead: SizeArgument?
    @Option(name: .customLong(HBAConstraintKey.maximumSegmentCountWrite.rawValue),
            help: ArgumentHelp("Most NVMe Writes one write is cut into.", valueName: "n"))
    var maximumSegmentCountWrite: SizeArgument?
    @Option(name: .customLong(HBAConstraintKey.maximumSegmentByteCountRead.rawValue),
            help: ArgumentHelp("Most bytes one NVMe Read carries (at most MDTS).", valueName: "bytes"))
    var maximumSegmentByteCountRead: SizeArgument?
    @Option(name: .customLong(HBAConstraintKey.maximumSegmentByteCountWrite.rawValue),
            help: ArgumentHelp("Most bytes one NVMe Write carries (at most MDTS).", valueName: "bytes"))
    var maximumSegmentByteCountWrite: SizeArgument?
    @Option(name: .customLong(HBAConstraintKey.minimumSegmentAlignmentByteCount.rawValue),
            help: ArgumentHelp("Byte alignment of a buffer (a power of two, at least 4).", valueName: "bytes"))
    var minimumSegmentAlignmentByteCount: SizeArgument?
    @Option(name: .customLong(HBAConstraintKey.maximumSegmentAddressableBitCount.rawValue),
            help: ArgumentHelp("DMA address width in bits; IOVAs are handed out below 2^bits.", valueName: "bits"))
    var maximumSegmentAddressableBitCount: SizeArgument?
    @Option(name: .customLong(HBAConstraintKey.minimumHBADataAlignmentMask.rawValue),
            help: ArgumentHelp("Alignment as a mask of low address bits (3: dword).", valueName: "mask"))
    var minimumHBADataAlignmentMask: SizeArgument?
    @Option(name: .customLong(HBAConstraintKey.maxTransferSize.rawValue),
            help: ArgumentHelp("Most bytes one task may carry (at least segment count x segment byte count).", valueName: "bytes"))
    var maxTransferSize: SizeArgument?
    @Option(name: .customLong(HBAConstraintKey.dmaAlignment.rawValue),
            help: ArgumentHelp("Byte alignment of a buffer, UserGetDMASpecification's (a power of two, at least 4).",
                               valueName: "bytes"))
    var dmaAlignment: SizeArgument?

    /// The overrides given, or nil when none was (the constraints are then derived).
    var overrides: HBAConstraintOverrides? {
        let values = [maximumSegmentCountRead, maximumSegmentCountWrite, maximumSegmentByteCountRead,
                      maximumSegmentByteCountWrite, minimumSegmentAlignmentByteCount, maximumSegmentAddressableBitCount,
                      minimumHBADataAlignmentMask, maxTransferSize, dmaAlignment]
        guard values.contains(where: { $0 != nil }) else { return nil }
        return HBAConstraintOverrides(
            maximumSegmentCountRead: maximumSegmentCountRead?.value, maximumSegmentCountWrite: maximumSegmentCountWrite?.value,
            maximumSegmentByteCountRead: maximumSegmentByteCountRead?.value,
            maximumSegmentByteCountWrite: maximumSegmentByteCountWrite?.value,
            minimumSegmentAlignmentByteCount: minimumSegmentAlignmentByteCount?.value,
            maximumSegmentAddressableBitCount: maximumSegmentAddressableBitCount?.value,
            minimumHBADataAlignmentMask: minimumHBADataAlignmentMask?.value,
            maxTransferSize: maxTransferSize?.value, dmaAlignment: dmaAlignment?.value)
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
