import NVMe

/// One input of the translation fuzz target, run through `translate` and `complete` with the
/// invariants checked. It lives here, not in the fuzz executable, so that the unit tests replay
/// the committed corpus (Fuzz/corpus) through exactly the code libFuzzer runs.
///
/// Input layout:
///
/// | byte | meaning |
/// | --- | --- |
/// | 0 | bits 0-1 LUN (2 and 3 are absent), bit 2 D_SENSE, bit 3 stopped, bit 4 pending unit attention, bit 5 which device, bits 6-7 data direction (1 in, 2 out) |
/// | 1 | bits 0-5 CDB length (mod 33; 33 and above also turn the controller's write cache off), bit 6 a deferred error pending, bit 7 no data-out at all (nil rather than bytes) |
/// | 2-3 | task buffer length (big-endian) when the direction is not data-out |
/// | then | the CDB, then the data-out bytes; the last byte, if any, picks how the plan's first operation ends: below 80h success, FFh an engine timeout, FEh a reset, else an NVMe status |
public enum TranslationFuzzing {
    /// The first invariant the input breaks, described, or nil: a CHECK CONDITION carries sense
    /// data that decodes, local data never exceeds the task buffer, the residual is never
    /// negative, only a GOOD command announces a shared parameter change to the other LUNs, an
    /// execute plan is never empty, the READ/WRITE fast path agrees with `translate` whenever it
    /// accepts a CDB, and `dataPhase` reads any CDB to a sane length. A trap inside is a finding too.
    public static func violation(in input: UnsafeRawBufferPointer) -> String? {
        guard input.count >= 4 else { return nil }
        let flags = input[0], shape = input[1]
        let cdbLength = min(Int(shape & 0x3F) % 33, input.count - 4)
        let cdb = Array(input[4..<(4 + cdbLength)])
        let rest = Array(input[(4 + cdbLength)...])
        let direction: DataDirection = switch flags >> 6 { case 1: .fromDevice; case 2: .toDevice; default: .none }
        let transferLength = direction == .toDevice ? rest.count : Int(input[2]) << 8 | Int(input[3])
        let facts = devices[Int(flags >> 5) & 1]
        let lun = UInt64(flags & 0x03)
        let writeCacheEnabled = shape & 0x3F < 33
        var state = LogicalUnitState(descriptorSense: flags & 0x04 != 0,
                                     pendingUnitAttention: flags & 0x10 != 0 ? .powerOnReset : nil,
                                     deferredError: shape & 0x40 != 0 ? deferred : nil, stopped: flags & 0x08 != 0)
        // The data phase a transport sizes its buffer by: never negative, and none when no data moves.
        let phase = dataPhase(cdb: cdb, lun: lun, facts: facts)
        if let length = phase.length, length < 0 || (length == 0) != (phase.direction == .none) {
            return "data phase of \(length) bytes in direction \(phase.direction)"
        }
        let fast = cdb.withUnsafeBytes {
            translateBlockTransfer(cdb: $0, lun: lun, transferLength: transferLength, direction: direction,
                                   facts: facts, state: state)
        }
        let plan = translate(cdb: cdb, lun: lun, dataOut: shape & 0x80 != 0 ? nil : rest,
                             transferLength: transferLength, direction: direction, facts: facts,
                             writeCacheEnabled: writeCacheEnabled, state: &state)
        switch plan {
        case let .respond(response):
            if fast != nil { return "fast path accepted a CDB that translate answers locally" }
            return check(response, transferLength: transferLength)
        case let .execute(operations, context):
            if operations.isEmpty { return "an execute plan without operations" }
            if let fast, operations != [fast.operation] { return "fast path disagrees with translate" }
            let selector = rest.last ?? 0
            var first = NVMeResult(operationIndex: 0, status: .success, bytesTransferred: Int(selector) % 4096, mediaData: rest)
            switch selector {
            case 0..<0x80: break
            case 0xFF: first.engineAbort = .timeout
            case 0xFE: first.engineAbort = .reset
            default: first.status = CompletionStatus(type: StatusCodeType.allCases[Int(selector) % StatusCodeType.allCases.count],
                                                      code: selector &* 7)
            }
            let results = [first] + operations.indices.dropFirst().map { NVMeResult(operationIndex: $0, status: .success) }
            return check(complete(context, results: results, facts: facts, state: &state), transferLength: transferLength)
        }
    }

    private static func check(_ response: SCSIResponse, transferLength: Int) -> String? {
        if response.residual < 0 { return "negative residual" }
        if response.dataIn.count > transferLength { return "more data than the task buffer holds" }
        if response.status == .checkCondition, DecodedSense(response.sense) == nil { return "CHECK CONDITION without valid sense" }
        if response.unitAttentionForOtherLUNs != nil, response.status != .good { return "a failed command changed shared parameters" }
        return nil
    }

    private static let deferred = SenseCondition(.mediumError, .peripheralDeviceWriteFault, deferred: true)

    /// A feature-rich device (several power states, short deallocate ranges) and a bare one, so
    /// both sides of every capability test run.
    private static let devices: [DeviceFacts] = {
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
        return [
            DeviceFacts(controller: rich, luns: luns, maximumTransferBytes: 1 << 20, maximumBlocksPerDeallocateRange: 0x100,
                        lowestPowerState: 4, volatileWriteCacheEnabledAtAttach: true),
            DeviceFacts(controller: IdentifyController(), luns: luns, maximumTransferBytes: 128 << 10),
        ]
    }()
}
