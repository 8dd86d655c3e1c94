import SeededRandom
import NVMe
import Testing
import TestSupport
@testable import Translation

@Suite struct StatusMappingTests {
    /// Reference 1.5 status mapping, row by row: NVMe status -> SCSI status, sense key, ASC, ASCQ.
    /// Statuses newer than the Reference (sanitize, write protect, path related) follow SBC-4/SPC-5.
    static let table: [(CompletionStatus, SCSIStatus, UInt8, UInt8, UInt8)] = [
        (CompletionStatus(.invalidCommandOpcode), .checkCondition, 0x05, 0x20, 0x00),
        (CompletionStatus(.invalidFieldInCommand), .checkCondition, 0x05, 0x24, 0x00),
        (CompletionStatus(.dataTransferError), .checkCondition, 0x03, 0x00, 0x00),
        (CompletionStatus(.abortedPowerLoss), .taskAborted, 0x0B, 0x0B, 0x08),
        (CompletionStatus(.internalError), .checkCondition, 0x04, 0x44, 0x00),
        (CompletionStatus(.abortRequested), .taskAborted, 0x0B, 0x00, 0x00),
        (CompletionStatus(.abortedSQDeletion), .taskAborted, 0x0B, 0x00, 0x00),
        (CompletionStatus(.abortedFailedFused), .taskAborted, 0x0B, 0x00, 0x00),
        (CompletionStatus(.abortedMissingFused), .taskAborted, 0x0B, 0x00, 0x00),
        (CompletionStatus(.invalidNamespaceOrFormat), .checkCondition, 0x05, 0x20, 0x09),
        (CompletionStatus(.lbaOutOfRange), .checkCondition, 0x05, 0x21, 0x00),
        (CompletionStatus(.capacityExceeded), .checkCondition, 0x03, 0x00, 0x00),
        (CompletionStatus(.namespaceNotReady), .checkCondition, 0x02, 0x04, 0x00),
        (CompletionStatus(.formatInProgress), .checkCondition, 0x02, 0x04, 0x04),
        (CompletionStatus(.sanitizeInProgress), .checkCondition, 0x02, 0x04, 0x1B),
        (CompletionStatus(.namespaceWriteProtected), .checkCondition, 0x07, 0x27, 0x00),
        (CompletionStatus(.invalidFormat), .checkCondition, 0x05, 0x31, 0x01),
        (CompletionStatus(.conflictingAttributes), .checkCondition, 0x05, 0x24, 0x00),
        (CompletionStatus(.writeFault), .checkCondition, 0x03, 0x03, 0x00),
        (CompletionStatus(.unrecoveredReadError), .checkCondition, 0x03, 0x11, 0x00),
        (CompletionStatus(.endToEndGuardCheckError), .checkCondition, 0x03, 0x10, 0x01),
        (CompletionStatus(.endToEndApplicationTagCheckError), .checkCondition, 0x03, 0x10, 0x02),
        (CompletionStatus(.endToEndReferenceTagCheckError), .checkCondition, 0x03, 0x10, 0x03),
        (CompletionStatus(.compareFailure), .checkCondition, 0x0E, 0x1D, 0x00),
        (CompletionStatus(.accessDenied), .checkCondition, 0x07, 0x20, 0x02),
        (CompletionStatus(.deallocatedOrUnwrittenLogicalBlock), .checkCondition, 0x05, 0x00, 0x00),
        (CompletionStatus(.prpOffsetInvalid), .checkCondition, 0x05, 0x00, 0x00),
        (CompletionStatus(.sglDescriptorTypeInvalid), .checkCondition, 0x05, 0x00, 0x00),
        (CompletionStatus(.dataSGLLengthInvalid), .checkCondition, 0x05, 0x00, 0x00),
        (CompletionStatus(.commandIDConflict), .checkCondition, 0x05, 0x00, 0x00),
        (CompletionStatus(.commandSequenceError), .checkCondition, 0x05, 0x00, 0x00),
        (CompletionStatus(.attemptedWriteToReadOnlyRange), .checkCondition, 0x07, 0x27, 0x00),
        (CompletionStatus(.invalidQueueIdentifier), .checkCondition, 0x05, 0x00, 0x00),
        (CompletionStatus(type: .vendorSpecific, code: 0x42), .checkCondition, 0x05, 0x00, 0x00),
        (CompletionStatus(type: .generic, code: 0x7F), .checkCondition, 0x05, 0x00, 0x00),
        (CompletionStatus(type: .pathRelated, code: 0x00), .checkCondition, 0x0B, 0x08, 0x00),
    ]

    func run(_ status: CompletionStatus, descriptor: Bool = false, engineAbort: EngineAbort? = nil) throws -> SCSIResponse {
        var state = LogicalUnitState(descriptorSense: descriptor)
        let context = try #require(plan([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], length: 512, direction: .fromDevice).context)
        return complete(context, results: [NVMeResult(operationIndex: 0, status: status, engineAbort: engineAbort)],
                        facts: Fixture.facts(), state: &state)
    }

    @Test(arguments: table.indices) func row(_ index: Int) throws {
        let (nvme, status, key, asc, ascq) = Self.table[index]
        let response = try run(nvme)
        #expect(response.status == status, "\(nvme)")
        #expect(response.sense == fixedSense(key, asc, ascq), "\(nvme)")
        #expect(try run(nvme, descriptor: true).sense == [0x72, key, asc, ascq, 0, 0, 0, 0], "\(nvme)")
    }

    @Test func successAndReservationConflict() throws {
        #expect(try run(.success) == SCSIResponse(status: .good, residual: 512))
        // RESERVATION CONFLICT is a status of its own, without sense data.
        #expect(try run(CompletionStatus(.reservationConflict)) == SCSIResponse(status: .reservationConflict, residual: 512))
        // DNR and More do not change the mapping.
        #expect(try run(CompletionStatus(.lbaOutOfRange, doNotRetry: true)).sense == lbaOutOfRangeSense)
    }

    @Test func anOperationTheEngineAbortedIsCheckConditionAbortedCommand() throws {
        // The HBA gave up on it: CHECK CONDITION (never TASK ABORTED: SAM-5 5.3.1, TAS is 0),
        // ABORTED COMMAND, COMMAND TIMEOUT DURING PROCESSING (2Eh/02h) for a timeout, whatever
        // placeholder status the engine put beside it.
        #expect(try run(CompletionStatus(.abortRequested), engineAbort: .timeout)
            == SCSIResponse(status: .checkCondition, sense: fixedSense(0x0B, 0x2E, 0x02), residual: 512))
        #expect(try run(.success, engineAbort: .timeout).sense == fixedSense(0x0B, 0x2E, 0x02))
        // A reset from elsewhere: ABORTED COMMAND, no additional sense.
        #expect(try run(CompletionStatus(.abortRequested), engineAbort: .reset)
            == SCSIResponse(status: .checkCondition, sense: fixedSense(0x0B, 0x00, 0x00), residual: 512))
        #expect(try run(CompletionStatus(.abortRequested), descriptor: true, engineAbort: .timeout).sense
            == [0x72, 0x0B, 0x2E, 0x02, 0, 0, 0, 0])
    }

    @Test func immediateSynchronizeCacheDefersItsFailure() throws {
        // SYNCHRONIZE CACHE (10) with IMMED (byte 1 bit 1): GOOD now, the Flush's failure next.
        var state = LogicalUnitState()
        let context = try #require(plan([0x35, 0x02, 0, 0, 0, 0, 0, 0, 0, 0], state: &state).context)
        let response = complete(context, results: [NVMeResult(operationIndex: 0, status: CompletionStatus(.writeFault))],
                                facts: Fixture.facts(), state: &state)
        #expect(response == SCSIResponse(status: .good))
        // Deferred (71h), MEDIUM ERROR, PERIPHERAL DEVICE WRITE FAULT.
        expectCheck(plan([0, 0, 0, 0, 0, 0], state: &state), [0x71, 0, 0x03, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x03, 0x00, 0, 0, 0, 0])
        // Without IMMED the same failure is this command's own CHECK CONDITION.
        let plain = try #require(plan([0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0], state: &state).context)
        #expect(complete(plain, results: [NVMeResult(operationIndex: 0, status: CompletionStatus(.writeFault))],
                         facts: Fixture.facts(), state: &state).sense == fixedSense(0x03, 0x03, 0x00))
        #expect(state.deferredError == nil)
    }

    @Test func firstFailingOperationWins() throws {
        var state = LogicalUnitState()
        let context = try #require(plan([0x2E, 0, 0, 0, 0, 1, 0, 0, 1, 0], length: 512, direction: .toDevice).context)
        let response = complete(context, results: [
            NVMeResult(operationIndex: 1, status: CompletionStatus(.compareFailure)),
            NVMeResult(operationIndex: 0, status: CompletionStatus(.writeFault), bytesTransferred: 0),
        ], facts: Fixture.facts(), state: &state)
        #expect(response.sense == fixedSense(0x03, 0x03, 0x00))
    }
}

@Suite struct RobustnessTests {
    @Test func millionRandomCDBs() {
        var random = SplitMix64(seed: 0x5C51_2024)
        let opcodes = CommandTable.all.map(\.opcode)
        let devices = [Fixture.facts(), Fixture.facts(rich: false),
                       Fixture.facts(namespaces: [Fixture.namespace(blocks: 0x1_0000_0000, shift: 12), Fixture.namespace(blocks: 1)])]
        var plans = 0, checks = 0, goods = 0
        for iteration in 0..<1_000_000 {
            let facts = devices[iteration % devices.count]
            // Half the CDBs start with a known opcode and have the right length, so the
            // per-command paths are reached, not only the opcode check.
            let known = random.next() & 1 == 0
            let opcode = known ? opcodes[Int.random(in: 0..<opcodes.count, using: &random)] : UInt8.random(in: 0...255, using: &random)
            let length = known && random.next() % 8 != 0 ? (CDB.groupLength(opcode) ?? 16) : Int.random(in: 0...20, using: &random)
            var cdb = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            if !cdb.isEmpty { cdb[0] = opcode }
            // Bias towards clean reserved bits and control bytes now and then.
            if known, random.next() % 2 == 0, let descriptor = CommandTable.lookup(opcode: opcode, serviceAction: cdb.count > 1 ? cdb[1] & 0x1F : nil),
               descriptor.length == cdb.count {
                for index in 1..<cdb.count { cdb[index] &= descriptor.usage[index] }
                if descriptor.serviceAction != nil { cdb[1] = (cdb[1] & ~0x1F) | (descriptor.serviceAction ?? 0) }
                // Small LBAs and lengths, so block commands land inside the namespace.
                for index in 2..<(cdb.count - 1) where random.next() % 8 != 0 { cdb[index] = 0 }
                if random.next() % 2 == 0 { cdb[cdb.count - 2] = UInt8(random.next() % 3) }
            }
            let dataOut: [UInt8]? = random.next() % 3 == 0 ? nil : (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let transferLength = [0, 512, 1024, 8192, dataOut?.count ?? 7, Int.random(in: 0...70000, using: &random)][Int(random.next() % 6)]
            let direction: DataDirection = random.next() % 4 == 0 ? .none : (dataOut == nil ? .fromDevice : .toDevice)
            let writeCacheEnabled = random.next() & 1 == 0
            var state = LogicalUnitState(descriptorSense: random.next() & 1 == 0,
                                         pendingUnitAttention: random.next() % 16 == 0 ? .powerOnReset : nil,
                                         stopped: random.next() % 16 == 0)
            let lun = random.next() % 4 == 0 ? UInt64(random.next() % 4) : 0
            switch translate(cdb: cdb, lun: lun, dataOut: dataOut, transferLength: transferLength, direction: direction,
                             facts: facts, writeCacheEnabled: writeCacheEnabled, state: &state) {
            case let .respond(response):
                #expect(response.dataIn.count <= transferLength)
                #expect(response.residual >= 0)
                if response.status == .checkCondition {
                    checks += 1
                    if DecodedSense(response.sense) == nil { Issue.record("invalid sense for \(cdb)") }
                } else {
                    #expect(response.status == .good)
                    goods += 1
                }
            case let .execute(operations, context):
                plans += 1
                #expect(!operations.isEmpty)
                let status = random.next() % 2 == 0 ? CompletionStatus.success
                    : CompletionStatus(type: StatusCodeType.allCases[Int(random.next() % 5)], code: UInt8.random(in: 0...255, using: &random))
                let results = operations.indices.map { NVMeResult(operationIndex: $0, status: $0 == 0 ? status : .success,
                                                                  bytesTransferred: Int(random.next() % 8192), mediaData: dataOut) }
                let response = complete(context, results: results, facts: facts, state: &state)
                #expect(response.residual >= 0)
                if response.status == .checkCondition, DecodedSense(response.sense) == nil { Issue.record("invalid sense after \(cdb)") }
            }
        }
        // Every kind of outcome was reached.
        #expect(plans > 1000)
        #expect(checks > 1000)
        #expect(goods > 1000)
    }
}

@Suite struct HostileResultTests {
    @Test func absurdEngineNumbersDoNotTrap() {
        var state = LogicalUnitState()
        guard let context = plan([0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0], length: 1024, direction: .toDevice).context else {
            Issue.record("expected a plan")
            return
        }
        let response = complete(context, results: [
            NVMeResult(operationIndex: -3, status: .success, bytesTransferred: .max),
            NVMeResult(operationIndex: 0, status: CompletionStatus(.compareFailure), bytesTransferred: .max, miscompareOffset: .max),
            NVMeResult(operationIndex: 99, status: .success, bytesTransferred: .min),
        ], facts: Fixture.facts(), state: &state)
        #expect(response.status == .checkCondition)
        #expect(response.residual == 0)
        // INFORMATION does not fit the fixed format's 4 bytes, so it is not marked valid there.
        #expect(response.sense == fixedSense(0x0E, 0x1D, 0x00))
    }
}
