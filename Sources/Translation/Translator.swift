import NVMe

/// Translates one SCSI command for a logical unit (NVM Express SCSI Translation Reference 1.5,
/// SBC-4/SPC-5 where it is silent).
///
/// - Parameters:
///   - cdb: the CDB, exactly as long as its opcode's group says (6, 10, 12 or 16 bytes).
///   - lun: the LUN number (0 = first active namespace), not the 8-byte SAM encoding.
///   - dataOut: the task's data-out bytes, required for the commands whose parameter data
///     translation itself must read: UNMAP, MODE SELECT, WRITE SAME (the one block) and, so
///     translation can locate miscompares, COMPARE AND WRITE, VERIFY and WRITE AND VERIFY with
///     BYTCHK=1. `needsDataOut(cdb:)` says which. Nil for anything else.
///   - transferLength: the task buffer's length in bytes. A data-in buffer may be longer than
///     the command's transfer (READ: transfer length x block size; locally built data: the
///     allocation length): the command completes and the excess is the residual. A shorter
///     data-in buffer, or a data-out buffer of any other length, is ILLEGAL REQUEST, INVALID
///     FIELD IN CDB pointing at the length field: SAM-5 leaves over/underrun to the transport,
///     and a userspace driver cannot move a partial block stream safely, so it refuses instead.
///   - direction: the task's data direction; it must agree with the command when data moves.
///   - facts: what is known about the device.
///   - writeCacheEnabled: the controller's volatile write cache setting now (WCE), which every
///     LUN shares and the engine owns; MODE SENSE reports it and MODE SELECT changes it through
///     a Set Features operation. Ignored when the controller has no volatile write cache.
///   - state: the logical unit's state, updated for unit attentions, D_SENSE and the like. An
///     engine that shares it between threads runs `translate` (and `complete`) on the state
///     itself under its lock, so that each change happens together with the reads it rests on.
/// - Returns: a local response, or NVMe operations for the engine plus a context for `complete`.
public func translate(cdb: [UInt8], lun: UInt64, dataOut: [UInt8]? = nil, transferLength: Int,
                      direction: DataDirection, facts: DeviceFacts, writeCacheEnabled: Bool,
                      state: inout LogicalUnitState) -> TranslationPlan {
    let transferLength = max(0, transferLength)
    do throws(SenseCondition) {
        // No opcode at all: the command IU itself is malformed (SAM-5: the CDB is at least 6 bytes).
        guard let opcode = cdb.first else { throw .invalidCommandIU }
        let descriptor = CommandTable.lookup(cdb)
        let unit = facts.unit(lun)
        let exempt = descriptor?.exemptFromUnitAttention ?? false
        if unit == nil, !exempt { throw .lunNotSupported }
        if !exempt, let attention = state.pendingUnitAttention {
            state.pendingUnitAttention = nil
            throw attention
        }
        if !exempt, let deferred = state.deferredError {
            state.deferredError = nil
            throw deferred
        }
        guard let descriptor else {
            // An opcode known to have service actions but an unknown one: the SA field is wrong.
            if CommandTable.hasServiceActions(opcode), cdb.count > 1 { throw .invalidCDB(byte: 1, bit: 4) }
            throw .invalidOpcode
        }
        guard descriptor.isSupported(by: facts) else { throw .invalidOpcode }
        // The group code fixes the CDB length (SPC-5 4.2.5); a CDB of another length is a framing
        // error of the command IU, not a field of the CDB.
        guard cdb.count == descriptor.length else { throw .invalidCommandIU }
        try CDBCheck.reservedBits(cdb, usage: descriptor.usage(for: facts))
        if state.stopped, !descriptor.allowedWhenStopped { throw .stopped }
        let request = Request(cdb: cdb, lun: lun, unit: unit, dataOut: dataOut, transferLength: transferLength,
                              direction: direction, facts: facts,
                              writeCacheEnabled: facts.hasVolatileWriteCache && writeCacheEnabled,
                              lengthField: descriptor.lengthField)
        return try dispatch(descriptor.kind, request, state: &state)
    } catch {
        return .respond(Request.failure(error, transferLength: transferLength, state: state))
    }
}

/// Whether translation reads the data-out buffer of this CDB (so the engine must pass it as
/// `dataOut`): UNMAP, MODE SELECT, WRITE SAME, COMPARE AND WRITE, and VERIFY / WRITE AND VERIFY
/// with BYTCHK set (to find the first miscompare for INFORMATION).
public func needsDataOut(cdb: [UInt8]) -> Bool {
    guard let opcode = cdb.first else { return false }
    switch opcode {
    case Opcode.unmap, Opcode.modeSelect6, Opcode.modeSelect10, Opcode.writeSame10, Opcode.writeSame16,
         Opcode.compareAndWrite: return true
    case Opcode.verify10, Opcode.verify12, Opcode.verify16,
         Opcode.writeAndVerify10, Opcode.writeAndVerify12, Opcode.writeAndVerify16:
        return cdb.count > 1 && cdb[1] & 0x06 != 0
    default: return false
    }
}

extension SenseCondition {
    /// The answer when a task's buffer cannot carry the data phase its CDB describes (too small,
    /// absent, or the wrong direction): ILLEGAL REQUEST, INVALID FIELD IN CDB, with the field
    /// pointer at the CDB's length field (TRANSFER, ALLOCATION or PARAMETER LIST LENGTH), or
    /// without one when the command has no such field or is unknown.
    public static func invalidDataBuffer(cdb: [UInt8]) -> SenseCondition {
        invalidLengthField(CommandTable.lookup(cdb)?.lengthField)
    }

    /// ILLEGAL REQUEST, INVALID FIELD IN CDB pointing at the length field `field`
    /// (`CommandDescriptor.lengthField`), or without a field pointer when there is none.
    static func invalidLengthField(_ field: Int?) -> SenseCondition {
        guard let field else { return SenseCondition(.illegalRequest, .invalidFieldInCDB) }
        return .invalidCDB(byte: field)
    }
}

private func dispatch(_ kind: CommandKind, _ request: Request, state: inout LogicalUnitState) throws(SenseCondition) -> TranslationPlan {
    switch kind {
    case .testUnitReady: return .respond(request.good())
    case .requestSense: return UnitControl.requestSense(request, state: &state)
    case .startStopUnit: return try StartStopUnit.translate(request, state: &state)
    case .inquiry: return try Inquiry.translate(request)
    case .readCapacity10: return try ReadCapacity.capacity10(request)
    case .readCapacity16: return try ReadCapacity.capacity16(request)
    case .modeSense: return try ModeSense.translate(request, state: state)
    case .modeSelect: return try ModeSelect.translate(request, state: &state)
    case .read, .write, .writeAndVerify, .verify: return try ReadWrite.translate(kind, request)
    case .synchronizeCache: return try ReadWrite.synchronizeCache(request, state: state)
    case .unmap: return try Unmap.translate(request)
    case .writeSame: return try WriteSame.translate(request)
    case .compareAndWrite: return try CompareAndWrite.translate(request)
    case .reportLUNs: return try ReportLUNs.translate(request)
    case .reportSupportedOperationCodes: return try SupportedOperationCodes.translate(request)
    }
}

/// One command on its way through translation: the inputs every handler reads.
struct Request {
    let cdb: [UInt8]
    let lun: UInt64
    let unit: LogicalUnit?
    let dataOut: [UInt8]?
    let transferLength: Int
    let direction: DataDirection
    let facts: DeviceFacts
    /// The controller's WCE now (false without a volatile write cache).
    let writeCacheEnabled: Bool
    /// The CDB byte of the command's length field (`CommandDescriptor.lengthField`), the one
    /// source of the field pointer for an invalid length or a data phase that does not match it.
    let lengthField: Int?

    /// The unit, for handlers that only run when it exists (checked before dispatch).
    var lu: LogicalUnit { unit ?? LogicalUnit(nsid: 0, namespace: IdentifyNamespace()) }

    /// GOOD with no data; `consumed` bytes of data-out (parameter data translation read) count
    /// as transferred (SAM-5: the residual is what was not transferred).
    func good(consumed: Int = 0) -> SCSIResponse { SCSIResponse(status: .good, residual: transferLength - consumed) }

    /// GOOD with locally built data, truncated to the allocation length and the task buffer.
    func data(_ bytes: [UInt8], allocationLength: Int) -> TranslationPlan {
        let sent = bytes.truncated(to: min(allocationLength, transferLength))
        return .respond(SCSIResponse(status: .good, dataIn: sent, residual: transferLength - sent.count))
    }

    /// Operations to run, with a context remembering what `complete` needs.
    /// `immediate` is the CDB's IMMED bit: status is due once the CDB is validated, so a later
    /// failure becomes a deferred error (SPC-5 4.4.1.2).
    /// `consumed` is the data-out translation itself read and no operation moves (parameter
    /// lists; WRITE SAME's block when it became Write Zeroes or Deallocate): it counts as transferred.
    func execute(_ operations: [NVMeOperation], consumed: Int = 0, compareData: [UInt8]? = nil, compareOffset: Int = 0,
                 immediate: Bool = false, onSuccess: CompletionContext.OnSuccess = .nothing) -> TranslationPlan {
        .execute(operations, CompletionContext(operationCount: operations.count, transferLength: transferLength,
                                               dataOutConsumed: consumed, compareData: compareData,
                                               compareOffset: compareOffset, immediate: immediate, onSuccess: onSuccess))
    }

    /// The CHECK CONDITION (or other status) response for a sense condition.
    static func failure(_ condition: SenseCondition, transferLength: Int, state: LogicalUnitState) -> SCSIResponse {
        SCSIResponse(status: condition.status,
                     sense: SenseData.build(condition, descriptorFormat: state.descriptorSense),
                     residual: transferLength)
    }

    /// INVALID FIELD IN CDB pointing at the command's length field.
    var invalidLength: SenseCondition { .invalidLengthField(lengthField) }

    /// Checks a data phase of `bytes` bytes in `direction`, else `invalidLength`: a data-in
    /// buffer must hold at least `bytes` (the rest becomes residual), any other buffer exactly.
    func expectData(_ bytes: Int, _ direction: DataDirection) throws(SenseCondition) {
        let fits = direction == .fromDevice && bytes > 0 ? bytes <= transferLength : bytes == transferLength
        guard fits, bytes == 0 || direction == self.direction else { throw invalidLength }
    }

    /// LBA OUT OF RANGE unless the LBA names a block of the namespace and lba..<lba+blocks lies
    /// inside it. The LBA is checked even for zero blocks: SBC-4 4.5 refuses a command that
    /// references a logical block beyond the capacity, and a zero TRANSFER LENGTH (or SYNCHRONIZE
    /// CACHE's NUMBER OF LOGICAL BLOCKS 0, "to the end") only makes the length no error.
    func checkRange(lba: UInt64, blocks: UInt64) throws(SenseCondition) {
        let capacity = lu.blockCount
        guard lba < capacity, blocks <= capacity - lba else { throw .lbaOutOfRange }
    }
}
