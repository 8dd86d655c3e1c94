import SCSIController

/// How ctrlbench presents each HBA constraint key: its option's help and value name, and how
/// `info` and `explain` say a derived value was reached. The tool's one table of the nine keys:
/// `ConstraintOptions` takes its options from it, `ConstraintRow` its derivations.
extension HBAConstraintKey {
    struct Presentation {
        /// The option's help line.
        var help: String
        /// The option's value name in the usage text.
        var valueName: String
        /// How the derived value follows from the controller, in words.
        var derivation: (NVMeController) -> String
    }

    var presentation: Presentation {
        let alignment = "the dword alignment NVMe requires of PRP entries and SGL data blocks (4 bytes)"
        switch self {
        case .maximumSegmentCountRead:
            return Presentation(help: "Most NVMe Reads one read is cut into.", valueName: "n",
                                derivation: { _ in "maxTransferSize / kIOMaximumSegmentByteCountReadKey" })
        case .maximumSegmentCountWrite:
            return Presentation(help: "Most NVMe Writes one write is cut into.", valueName: "n",
                                derivation: { _ in "maxTransferSize / kIOMaximumSegmentByteCountWriteKey" })
        case .maximumSegmentByteCountRead:
            return Presentation(help: "Most bytes one NVMe Read carries (at most MDTS).", valueName: "bytes",
                                derivation: Self.perCommandLimit)
        case .maximumSegmentByteCountWrite:
            return Presentation(help: "Most bytes one NVMe Write carries (at most MDTS).", valueName: "bytes",
                                derivation: Self.perCommandLimit)
        case .minimumSegmentAlignmentByteCount:
            return Presentation(help: "Byte alignment of a buffer (a power of two, at least 4).", valueName: "bytes",
                                derivation: { _ in alignment })
        case .maximumSegmentAddressableBitCount:
            return Presentation(help: "DMA address width in bits; IOVAs are handed out below 2^bits.", valueName: "bits",
                                derivation: { "the top of the IOVA windows the allocator hands out (\($0.iovaBits) bits)" })
        case .minimumHBADataAlignmentMask:
            return Presentation(help: "Alignment as a mask of low address bits (3: dword).", valueName: "mask",
                                derivation: { _ in "dword alignment - 1" })
        case .maxTransferSize:
            return Presentation(help: "Most bytes one task may carry (at least segment count x segment byte count).",
                                valueName: "bytes",
                                derivation: { _ in "the largest multiple of the segment byte count within 1 GiB" })
        case .dmaAlignment:
            return Presentation(help: "Byte alignment of a buffer, UserGetDMASpecification's (a power of two, at least 4).",
                                valueName: "bytes", derivation: { _ in alignment })
        }
    }

    /// Where the segment byte counts come from: MDTS in bytes, or the driver's cap.
    private static func perCommandLimit(_ controller: NVMeController) -> String {
        let mdts = controller.identify.mdts
        return "the per-command limit, \(controller.maximumCommandBytes) bytes: "
            + (mdts == 0 ? "MDTS 0 (no limit), capped by the driver" : "Identify Controller MDTS \(mdts) -> 2^\(mdts) x CAP.MPSMIN "
                + "\(controller.capabilities.minimumPageSize) bytes") + ", whole blocks"
    }
}
