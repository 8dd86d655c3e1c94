import DMAMapper
import Testing
@testable import SCSIController

/// The seed thread's configurations and DriverKit's rules: all seven keys required, and
/// maxTransferSize >= segment count x segment byte count in both directions.
@Suite struct HBAConstraintsTests {
    let limits = HBAConstraints.ControllerLimits(maximumCommandBytes: 1 << 20, blockSize: 512, iovaBits: 48)

    /// The configuration the seed thread ended with: 129 segments of 512 KiB, maxTransferSize large enough.
    func complete() -> HBAConstraintOverrides { .seedThread }

    /// The refusal of `overrides`, or nil when they are accepted. Any other error is not an
    /// acceptance: it is recorded as an issue at the caller (and nil returned), so a test that
    /// expects a refusal or an acceptance fails either way.
    func refusal(_ overrides: HBAConstraintOverrides, sourceLocation: SourceLocation = #_sourceLocation)
        -> (key: HBAConstraintKey, value: String, rule: String)? {
        do {
            _ = try HBAConstraints.validated(overrides, against: limits)
            return nil
        } catch {
            guard case let .unusableValue(.constraint(key), value, rule) = error else {
                Issue.record("expected an HBA constraint's refusal or acceptance, got \(error)", sourceLocation: sourceLocation)
                return nil
            }
            return (key, value, rule)
        }
    }

    @Test func completeConfigurationIsAccepted() throws {
        let constraints = try HBAConstraints.validated(complete(), against: limits)
        #expect(constraints.maximumSegmentByteCountWrite == 512 << 10)
        #expect(constraints.maxTransferSize == 129 * (512 << 10))
        #expect(constraints.requiredAlignment == 4)
    }

    @Test(arguments: HBAConstraintKey.allCases)
    func everyMissingKeyIsRefusedByName(key: HBAConstraintKey) {
        var overrides = complete()
        #expect(overrides[key] != nil)
        overrides[key] = nil
        let refused = refusal(overrides)
        #expect(refused?.key == key)
        #expect(refused?.value == "missing")
    }

    /// Each key reaches its own field, in both types: values 1...9 given in DriverKit's key order
    /// (the order of `allCases`) read back in that order.
    @Test func eachKeyReadsItsOwnField() {
        let overrides = HBAConstraintOverrides(
            maximumSegmentCountRead: 1, maximumSegmentCountWrite: 2, maximumSegmentByteCountRead: 3, maximumSegmentByteCountWrite: 4,
            minimumSegmentAlignmentByteCount: 5, maximumSegmentAddressableBitCount: 6, minimumHBADataAlignmentMask: 7,
            maxTransferSize: 8, dmaAlignment: 9)
        #expect(HBAConstraintKey.allCases.map { overrides[$0] } == Array(1...9))
        let constraints = HBAConstraints(
            maximumSegmentCountRead: 1, maximumSegmentCountWrite: 2, maximumSegmentByteCountRead: 3, maximumSegmentByteCountWrite: 4,
            minimumSegmentAlignmentByteCount: 5, maximumSegmentAddressableBitCount: 6, minimumHBADataAlignmentMask: 7,
            maxTransferSize: 8, dmaAlignment: 9)
        #expect(HBAConstraintKey.allCases.map { constraints[$0] } == Array(1...9))
        #expect(constraints.description.split(separator: "\n").map(String.init) == HBAConstraintKey.allCases.enumerated().map {
            "\($1.rawValue) = \($1 == .minimumHBADataAlignmentMask ? "0x7" : "\($0 + 1)")"
        })
    }

    @Test func zeroIsRefused() {
        var overrides = complete()
        overrides.maximumSegmentCountWrite = 0
        #expect(refusal(overrides)?.key == .maximumSegmentCountWrite)
        #expect(refusal(overrides)?.rule.contains("greater than zero") == true)
    }

    /// The seed thread's failing setup: 512 KiB segments but maxTransferSize 64 KiB.
    @Test func seedThreadSmallMaxTransferIsRefusedWithTheRule() {
        var overrides = complete()
        overrides.maxTransferSize = 64 << 10
        let refused = refusal(overrides)
        #expect(refused?.key == .maxTransferSize)
        #expect(refused?.value == "65536")
        #expect(refused?.rule.contains("kIOMaximumSegmentCountReadKey x kIOMaximumSegmentByteCountReadKey") == true)
        #expect(refused?.rule.contains("\(129 * (512 << 10))") == true)
    }

    /// Piece n of a split request starts n x segment byte count into the buffer, so a segment
    /// byte count that is not a multiple of the strictest alignment would misalign every later piece.
    @Test func segmentByteCountMustKeepEveryPieceAligned() {
        var overrides = HBAConstraintOverrides.complete(segments: 8, segmentBytes: 6 << 10, maxTransferSize: 48 << 10)
        overrides.minimumSegmentAlignmentByteCount = 4096
        let refused = refusal(overrides)
        #expect(refused?.key == .maximumSegmentByteCountRead)
        #expect(refused?.value == "6144")
        #expect(refused?.rule.contains("multiple of the strictest alignment key (4096 bytes)") == true)
        overrides.maximumSegmentByteCountRead = 8 << 10
        overrides.maximumSegmentByteCountWrite = 8 << 10
        overrides.maxTransferSize = 64 << 10
        let accepted = try? HBAConstraints.validated(overrides, against: limits)
        #expect(accepted?.requiredAlignment == 4096)
    }

    /// The rule holds in either direction: a write side larger than the read side is checked too.
    @Test func writeDirectionProductIsCheckedToo() {
        var overrides = complete()
        overrides.maximumSegmentCountRead = 1
        overrides.maxTransferSize = 512 << 10
        #expect(refusal(overrides)?.rule.contains("kIOMaximumSegmentCountWriteKey") == true)
        overrides.maximumSegmentCountWrite = 1
        #expect(refusal(overrides) == nil)
    }

    @Test func nonPowerOfTwoAlignmentsAreRefused() {
        var overrides = complete()
        overrides.minimumSegmentAlignmentByteCount = 12
        #expect(refusal(overrides)?.key == .minimumSegmentAlignmentByteCount)
        #expect(refusal(overrides)?.rule == "must be a power of two")
        overrides = complete()
        overrides.minimumHBADataAlignmentMask = 5
        #expect(refusal(overrides)?.key == .minimumHBADataAlignmentMask)
        overrides = complete()
        overrides.dmaAlignment = 6
        #expect(refusal(overrides)?.key == .dmaAlignment)
    }

    @Test func alignmentBelowDwordIsRefused() {
        var overrides = complete()
        overrides.minimumSegmentAlignmentByteCount = 1
        #expect(refusal(overrides)?.key == .minimumSegmentAlignmentByteCount)
        #expect(refusal(overrides)?.rule.contains("at least 4 bytes") == true)
    }

    /// The seed's DEXT reported 0x20 (32 bits) for a controller whose IOVAs need more.
    @Test func addressableBitsNarrowerThanTheIOVARangeAreRefused() {
        var overrides = complete()
        overrides.maximumSegmentAddressableBitCount = 32
        let refused = refusal(overrides)
        #expect(refused?.key == .maximumSegmentAddressableBitCount)
        #expect(refused?.rule.contains("48 bits") == true)
        overrides.maximumSegmentAddressableBitCount = 65
        #expect(refusal(overrides)?.key == .maximumSegmentAddressableBitCount)
    }

    /// The seed thread's KEXT set: 32 addressable bits are accepted when the allocator's IOVAs
    /// fit in them, and then every IOVA handed out stays below 4 GiB.
    @Test func thirtyTwoAddressableBitsKeepEveryBufferBelow4GiB() throws {
        var overrides = complete()
        overrides.maximumSegmentAddressableBitCount = 32
        let narrow = HBAConstraints.ControllerLimits(maximumCommandBytes: 1 << 20, blockSize: 512, iovaBits: 32)
        #expect(try HBAConstraints.validated(overrides, against: narrow).maximumSegmentAddressableBitCount == 32)
        // On the mock, whose IOMMU offers the whole 64-bit space: bring-up with 32-bit DMA.
        let rig = try Rig({ $0.mdts = 7 }, options: { $0.addressableBits = 32; $0.constraints = overrides })
        #expect(rig.controller.constraints.maximumSegmentAddressableBitCount == 32)
        var buffers: [DMABuffer] = []
        for index in 0..<64 {
            let buffer = try rig.controller.mapper.allocate(length: (index % 7 + 1) * (64 << 10) + 4 * index)
            #expect(buffer.iova + UInt64(buffer.length) - 1 < 1 << 32, "buffer \(index) at \(buffer.iova)")
            buffers.append(buffer)
        }
        // Every window the mapper allocates from (rings and PRP list pages included) is below 4 GiB,
        // and I/O works through them.
        #expect(rig.controller.mapper.iovaRanges.allSatisfy { $0.last < 1 << 32 })
        fill(buffers[0], seed: 1)
        #expect(rig.queue.write(nsid: rig.nsid, lba: 0, blocks: 128, from: buffers[0]).succeeded)
        #expect(rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 128, into: buffers[1]).succeeded)
        #expect(same(buffers[0].address, buffers[1].address, count: 128 * 512))
    }

    @Test func segmentLargerThanMDTSIsRefused() {
        var overrides = complete()
        overrides.maximumSegmentByteCountRead = 2 << 20
        overrides.maxTransferSize = 129 * (2 << 20)
        let refused = refusal(overrides)
        #expect(refused?.key == .maximumSegmentByteCountRead)
        #expect(refused?.rule.contains("MDTS") == true)
    }

    @Test func segmentNotAWholeNumberOfBlocksIsRefused() {
        var overrides = complete()
        overrides.maximumSegmentByteCountWrite = 1000
        #expect(refusal(overrides)?.key == .maximumSegmentByteCountWrite)
    }

    @Test func derivedConstraintsSatisfyTheirOwnRules() throws {
        let derived = HBAConstraints.derived(from: limits)
        #expect(derived.maxTransferSize >= derived.maximumSegmentCountRead * derived.maximumSegmentByteCountRead)
        #expect(derived.maximumSegmentByteCountRead == 1 << 20)
        #expect(derived.maxTransferSize == 1 << 30)
        let again = try HBAConstraints.validated(HBAConstraintOverrides(
            maximumSegmentCountRead: derived.maximumSegmentCountRead, maximumSegmentCountWrite: derived.maximumSegmentCountWrite,
            maximumSegmentByteCountRead: derived.maximumSegmentByteCountRead, maximumSegmentByteCountWrite: derived.maximumSegmentByteCountWrite,
            minimumSegmentAlignmentByteCount: derived.minimumSegmentAlignmentByteCount,
            maximumSegmentAddressableBitCount: derived.maximumSegmentAddressableBitCount,
            minimumHBADataAlignmentMask: derived.minimumHBADataAlignmentMask, maxTransferSize: derived.maxTransferSize,
            dmaAlignment: derived.dmaAlignment), against: limits)
        #expect(again == derived)
    }

}

/// The same rules as bring-up applies them to real configurations (a mock with MDTS 7, 512 KiB
/// commands): each is refused before any I/O, and the error names the DriverKit key, the value and the rule.
@Suite struct HBAConstraintsAtBringUpTests {
    struct Row: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let change: @Sendable (inout HBAConstraintOverrides) -> Void
        let key: HBAConstraintKey
        let value: String
        let rule: String
    }

    static let rows = [
        Row(testDescription: "seed thread: 512 KiB segments, maxTransferSize 64 KiB", change: { $0.maxTransferSize = 64 << 10 },
            key: .maxTransferSize, value: "65536",
            rule: "kIOMaximumSegmentCountReadKey x kIOMaximumSegmentByteCountReadKey = 129 x 524288 = 67633152"),
        Row(testDescription: "segment larger than MDTS", change: { $0.maximumSegmentByteCountWrite = 1 << 20; $0.maxTransferSize = 129 << 20 },
            key: .maximumSegmentByteCountWrite, value: "1048576", rule: "(524288 bytes, from MDTS)"),
        Row(testDescription: "seed DEXT: 32 addressable bits", change: { $0.maximumSegmentAddressableBitCount = 32 },
            key: .maximumSegmentAddressableBitCount, value: "32", rule: "(64 bits)"),
        Row(testDescription: "missing dmaAlignment", change: { $0.dmaAlignment = nil },
            key: .dmaAlignment, value: "missing", rule: "all nine keys are required"),
        Row(testDescription: "alignment mask not 2^n - 1", change: { $0.minimumHBADataAlignmentMask = 5 },
            key: .minimumHBADataAlignmentMask, value: "0x5", rule: "one less than a power of two"),
        Row(testDescription: "zero write segments", change: { $0.maximumSegmentCountWrite = 0 },
            key: .maximumSegmentCountWrite, value: "0", rule: "greater than zero"),
    ]

    @Test(arguments: rows)
    func aBrokenConfigurationIsRefusedAtBringUp(row: Row) throws {
        var overrides = HBAConstraintOverrides.seedThread
        _ = try Rig({ $0.mdts = 7 }, options: { $0.constraints = overrides })  // the complete configuration starts
        row.change(&overrides)
        do {
            _ = try Rig({ $0.mdts = 7 }, options: { $0.constraints = overrides })
            Issue.record("\(row.testDescription) was accepted")
        } catch {
            guard case let .unusableValue(.constraint(key), value, rule)? = error as? ControllerError else { Issue.record("got \(error)"); return }
            #expect(key == row.key && value == row.value && rule.contains(row.rule))
            let text = "\(error)"
            #expect(text.contains(row.key.rawValue) && text.contains(" = \(row.value) refused: ") && text.contains(row.rule))
        }
    }
}
