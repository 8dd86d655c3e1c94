import NVMe
import Translation

// libFuzzer entry point for the translation layer. Input layout:
//   byte 0      flags: bits 0-1 LUN (2 = absent), bit 2 D_SENSE, bit 3 stopped, bit 4 pending unit
//               attention, bit 5 which device facts, bits 6-7 data direction
//   byte 1      CDB length (mod 33)
//   bytes 2-3   task buffer length (big-endian) when the direction is not data-out
//   then        the CDB, then parameter data (the data-out buffer); the last byte, if any, picks
//               the NVMe status the plan's first operation completes with.
// Invariants checked (a trap is a finding): a CHECK CONDITION carries sense data that decodes,
// local data never exceeds the task buffer, the residual is never negative.

/// Two devices: a feature-rich one and a bare one, so both sides of every capability test run.
private let devices: [DeviceFacts] = {
    var rich = IdentifyController()
    rich.modelNumber = "Fuzz Model"
    rich.serialNumber = "FZ0001"
    rich.firmwareRevision = "1.0"
    rich.oncs = [.compare, .datasetManagement, .writeZeroes, .verify]
    rich.fuses = 1
    rich.acwu = 7
    rich.vwc = 1
    var namespace = IdentifyNamespace()
    namespace.nsze = 0x1000
    namespace.ncap = 0x1000
    namespace.dlfeat = 1
    namespace.nguid = Array(1...16)
    var big = IdentifyNamespace()
    big.nsze = 0x1_0000_0000
    big.lbaFormats = [LBAFormat(lbaDataSizeShift: 12)]
    let luns = [LogicalUnit(nsid: 1, namespace: namespace), LogicalUnit(nsid: 2, namespace: big)]
    let bare = IdentifyController()
    return [
        DeviceFacts(controller: rich, luns: luns, maximumTransferBytes: 1 << 20, volatileWriteCacheEnabled: true),
        DeviceFacts(controller: bare, luns: luns, maximumTransferBytes: 128 << 10),
    ]
}()

/// Runs one input through translate and complete; traps when an invariant breaks.
public func fuzzTranslation(_ input: UnsafeRawBufferPointer) {
    guard input.count >= 4 else { return }
    let flags = input[0]
    let cdbLength = min(Int(input[1]) % 33, input.count - 4)
    let cdb = Array(input[4..<(4 + cdbLength)])
    let rest = Array(input[(4 + cdbLength)...])
    let direction: DataDirection = switch flags >> 6 { case 1: .fromDevice; case 2: .toDevice; default: .none }
    let transferLength = direction == .toDevice ? rest.count : Int(input[2]) << 8 | Int(input[3])
    let facts = devices[Int(flags >> 5) & 1]
    var state = LogicalUnitState(descriptorSense: flags & 0x04 != 0, writeCacheEnabled: true,
                                 pendingUnitAttention: flags & 0x10 != 0 ? .powerOnReset : nil,
                                 stopped: flags & 0x08 != 0)
    // The fast path must agree with translate whenever it accepts a CDB.
    let fast = cdb.withUnsafeBytes {
        translateBlockTransfer(cdb: $0, lun: UInt64(flags & 0x03), transferLength: transferLength,
                               direction: direction, facts: facts, state: state)
    }
    let plan = translate(cdb: cdb, lun: UInt64(flags & 0x03), dataOut: rest, transferLength: transferLength,
                         direction: direction, facts: facts, state: &state)
    switch plan {
    case let .respond(response):
        precondition(fast == nil, "fast path accepted a CDB that translate answers locally")
        check(response, transferLength: transferLength)
    case let .execute(operations, context):
        precondition(!operations.isEmpty, "an execute plan without operations")
        if let fast { precondition(operations == [fast.operation], "fast path disagrees with translate") }
        let selector = rest.last ?? 0
        let status = selector < 128 ? CompletionStatus.success
            : CompletionStatus(type: StatusCodeType.allCases[Int(selector) % StatusCodeType.allCases.count], code: selector &* 7)
        let results = operations.indices.map { index in
            NVMeResult(operationIndex: index, status: index == 0 ? status : .success,
                       bytesTransferred: Int(selector) % 4096, mediaData: rest)
        }
        check(complete(context, results: results, facts: facts, state: &state), transferLength: transferLength)
    }
}

private func check(_ response: SCSIResponse, transferLength: Int) {
    precondition(response.residual >= 0, "negative residual")
    precondition(response.dataIn.count <= transferLength, "more data than the task buffer holds")
    if response.status == .checkCondition {
        precondition(DecodedSense(response.sense) != nil, "CHECK CONDITION without valid sense")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    fuzzTranslation(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}
