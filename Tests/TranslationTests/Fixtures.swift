import NVMe
import Testing
import TestSupport
@testable import Translation

/// A controller and namespaces described in the tests' own terms, so expected bytes can be
/// written from the specifications: 0x1000 blocks of 512 bytes on LUN 0 (NSID 1).
enum Fixture {
    static func controller(rich: Bool = true) -> IdentifyController {
        var controller = IdentifyController()
        controller.modelNumber = "ACME NVMe SSD 1000 Series"
        controller.serialNumber = "S123456789"
        controller.firmwareRevision = "FW1.2345"
        if rich {
            controller.oncs = [.compare, .datasetManagement, .writeZeroes, .verify]
            controller.fuses = 1
            controller.acwu = 7
            controller.vwc = 1
        }
        return controller
    }

    static func namespace(blocks: UInt64 = 0x1000, shift: UInt8 = 9) -> IdentifyNamespace {
        var namespace = IdentifyNamespace()
        namespace.nsze = blocks
        namespace.ncap = blocks
        namespace.lbaFormats = [LBAFormat(lbaDataSizeShift: shift)]
        return namespace
    }

    static func facts(rich: Bool = true, namespaces: [IdentifyNamespace]? = nil) -> DeviceFacts {
        let list = namespaces ?? [namespace()]
        return DeviceFacts(controller: controller(rich: rich),
                           luns: list.enumerated().map { LogicalUnit(nsid: UInt32($0.offset + 1), namespace: $0.element) },
                           maximumTransferBytes: 128 * 1024, controllerMaximumTransferBytes: 64 * 1024,
                           maximumDeallocateRanges: 256, maximumDeallocateBlocks: 0x10000,
                           volatileWriteCacheEnabledAtAttach: true)
    }
}

/// Runs a CDB through translate; the controller's write cache is on unless `writeCache` says otherwise.
func plan(_ cdb: [UInt8], lun: UInt64 = 0, dataOut: [UInt8]? = nil, length: Int = 0,
          direction: DataDirection = .none, facts: DeviceFacts = Fixture.facts(), writeCache: Bool = true,
          state: inout LogicalUnitState) -> TranslationPlan {
    translate(cdb: cdb, lun: lun, dataOut: dataOut, transferLength: length, direction: direction,
              facts: facts, writeCacheEnabled: writeCache, state: &state)
}

func plan(_ cdb: [UInt8], lun: UInt64 = 0, dataOut: [UInt8]? = nil, length: Int = 0,
          direction: DataDirection = .none, facts: DeviceFacts = Fixture.facts(), writeCache: Bool = true) -> TranslationPlan {
    var state = LogicalUnitState()
    return plan(cdb, lun: lun, dataOut: dataOut, length: length, direction: direction, facts: facts,
                writeCache: writeCache, state: &state)
}

extension TranslationPlan {
    /// The local response, or nil for an execute plan.
    var response: SCSIResponse? { if case let .respond(response) = self { response } else { nil } }
    /// The operations, or nil for a local response.
    var operations: [NVMeOperation]? { if case let .execute(operations, _) = self { operations } else { nil } }
    var context: CompletionContext? { if case let .execute(_, context) = self { context } else { nil } }
}

/// Expects a CHECK CONDITION with exactly these fixed-format sense bytes.
func expectCheck(_ plan: TranslationPlan, _ sense: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
    guard let response = plan.response else {
        Issue.record("expected CHECK CONDITION, got \(plan)", sourceLocation: sourceLocation)
        return
    }
    #expect(response.status == .checkCondition, sourceLocation: sourceLocation)
    #expect(response.sense == sense, sourceLocation: sourceLocation)
}

/// Expects GOOD with this data-in.
func expectData(_ plan: TranslationPlan, _ data: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
    guard let response = plan.response else {
        Issue.record("expected data, got \(plan)", sourceLocation: sourceLocation)
        return
    }
    #expect(response.status == .good, sourceLocation: sourceLocation)
    #expect(response.sense == [], sourceLocation: sourceLocation)
    #expect(response.dataIn == data, sourceLocation: sourceLocation)
}

/// Sense written from SPC-5 that these tests use often: ILLEGAL REQUEST (5h) with INVALID COMMAND
/// OPERATION CODE (20h/00h) and LOGICAL BLOCK ADDRESS OUT OF RANGE (21h/00h).
let invalidOpcodeSense = fixedSense(0x05, 0x20, 0x00)
let lbaOutOfRangeSense = fixedSense(0x05, 0x21, 0x00)
