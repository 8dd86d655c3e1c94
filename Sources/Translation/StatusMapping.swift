import NVMe

/// Finishes a plan: NVMe completion status -> SCSI status and sense (Reference 1.5, "Status
/// Mapping"), then applies the plan's state change when everything succeeded.
///
/// The first failing result (lowest operation index) decides the response. When no result
/// failed, every operation of the plan must have at least one result; a plan the engine did not
/// finish is reported as ABORTED COMMAND rather than as success. A plan for a CDB with IMMED set
/// answers GOOD and leaves its failure as a deferred error for the next command (SPC-5 4.4.1.2).
public func complete(_ context: CompletionContext, results: [NVMeResult], facts: DeviceFacts,
                     state: inout LogicalUnitState) -> SCSIResponse {
    // Saturating: the counts come from the engine (and through it from the device).
    let transferred = results.reduce(context.dataOutConsumed) { total, result in
        let (sum, overflow) = total.addingReportingOverflow(max(0, result.bytesTransferred))
        return overflow ? Int.max : sum
    }
    let residual = max(0, context.transferLength - transferred)
    var failed: SenseCondition?
    if let failure = results.filter({ !$0.status.isSuccess || $0.engineAbort != nil })
        .min(by: { $0.operationIndex < $1.operationIndex }) {
        var condition = StatusMapping.condition(for: failure)
        if condition.key == .miscompare {
            condition.information = StatusMapping.miscompareOffset(failure, context).map { UInt64($0) }
        } else if condition.key == .mediumError, let lba = failure.failingLBA {
            condition.information = lba
        }
        failed = condition
    } else if !(0..<context.operationCount).allSatisfy({ index in results.contains { $0.operationIndex == index } }) {
        failed = SenseCondition(.abortedCommand, .noAdditionalSense)
    }
    if var condition = failed {
        if context.immediate {
            condition.deferred = true
            condition.status = .checkCondition
            state.deferredError = condition
            return SCSIResponse(status: .good, residual: residual)
        }
        let sense = condition.status == .reservationConflict
            ? [] : SenseData.build(condition, descriptorFormat: state.descriptorSense)
        return SCSIResponse(status: condition.status, sense: sense, residual: residual)
    }
    var response = SCSIResponse(status: .good, residual: residual)
    switch context.onSuccess {
    case .nothing: break
    case let .writeCacheChanged(descriptorSense):
        if let descriptorSense { state.descriptorSense = descriptorSense }
        response.unitAttentionForOtherLUNs = .modeParametersChanged
    case .stop: state.stopped = true
    case .start: state.stopped = false
    }
    return response
}

enum StatusMapping {
    /// The SCSI status and sense for a failed result. An operation the engine itself gave up on
    /// (a timeout, a reset) was aborted by this HBA, not by a task management function of
    /// another I_T nexus: SAM-5 5.3.1 allows TASK ABORTED only for that, with TAS set, and the
    /// Control mode page here has TAS 0. So it is CHECK CONDITION, ABORTED COMMAND ("the device
    /// server aborted the command", SPC-5 4.4.3), with COMMAND TIMEOUT DURING PROCESSING (2Eh/02h)
    /// for a timeout.
    static func condition(for result: NVMeResult) -> SenseCondition {
        switch result.engineAbort {
        case .timeout?: SenseCondition(.abortedCommand, .commandTimeoutDuringProcessing)
        case .reset?: SenseCondition(.abortedCommand, .noAdditionalSense)
        case nil: condition(for: result.status)
        }
    }

    /// The SCSI status and sense for an NVMe status that is not success. Sources, row by row:
    /// the Reference 1.5 tables (generic, command specific, media errors); statuses newer than
    /// it follow SBC-4/SPC-5. Where Linux's former drivers/nvme/host/scsi.c disagreed with the
    /// Reference, the Reference wins: Access Denied is DATA PROTECT, ACCESS DENIED - NO ACCESS
    /// RIGHTS (Linux: ILLEGAL REQUEST, 20h/09h), and Data Transfer Error is MEDIUM ERROR with no
    /// additional sense (both agree on that one).
    static func condition(for status: CompletionStatus) -> SenseCondition {
        switch status.type {
        case .generic:
            guard let generic = GenericStatus(rawValue: status.code) else { break }
            return generic.condition
        case .commandSpecific:
            guard let specific = CommandSpecificStatus(rawValue: status.code) else { break }
            switch specific {
            case .invalidFormat: return SenseCondition(.illegalRequest, .formatCommandFailed)
            case .conflictingAttributes: return SenseCondition(.illegalRequest, .invalidFieldInCDB)
            case .attemptedWriteToReadOnlyRange: return SenseCondition(.dataProtect, .writeProtected)
            default: return Self.notTheInitiatorsCDB
            }
        case .mediaAndDataIntegrity:
            guard let media = MediaStatus(rawValue: status.code) else { break }
            switch media {
            case .writeFault: return SenseCondition(.mediumError, .peripheralDeviceWriteFault)
            case .unrecoveredReadError: return SenseCondition(.mediumError, .unrecoveredReadError)
            case .endToEndGuardCheckError: return SenseCondition(.mediumError, .guardCheckFailed)
            case .endToEndApplicationTagCheckError: return SenseCondition(.mediumError, .applicationTagCheckFailed)
            case .endToEndReferenceTagCheckError: return SenseCondition(.mediumError, .referenceTagCheckFailed)
            case .compareFailure: return SenseCondition(.miscompare, .miscompareDuringVerify)
            case .accessDenied: return SenseCondition(.dataProtect, .accessDeniedNoAccessRights)
            case .deallocatedOrUnwrittenLogicalBlock: return Self.notTheInitiatorsCDB
            }
        case .pathRelated:
            // The path to the namespace failed; another attempt (or path) may succeed.
            return SenseCondition(.abortedCommand, .logicalUnitCommunicationFailure)
        case .vendorSpecific:
            break
        }
        // Vendor-specific and unknown codes: the reference's catch-all.
        return notTheInitiatorsCDB
    }

    /// The Reference's answer for statuses that describe the driver's or the device's side of a
    /// command (SGL and PRP errors, identifier conflicts, sequence errors, unknown codes):
    /// ILLEGAL REQUEST with no additional sense, rather than INVALID FIELD IN CDB, which would
    /// blame a CDB the initiator got right.
    static let notTheInitiatorsCDB = SenseCondition(.illegalRequest, .noAdditionalSense)

    /// The INFORMATION field of a miscompare: the engine's offset, else the first byte where the
    /// media data it read differs from the compare data; nil (INFORMATION not valid) if neither.
    static func miscompareOffset(_ result: NVMeResult, _ context: CompletionContext) -> Int? {
        if let offset = result.miscompareOffset {
            let (sum, overflow) = context.compareOffset.addingReportingOverflow(max(0, offset))
            return overflow ? Int.max : sum
        }
        guard let media = result.mediaData, let expected = context.compareData else { return nil }
        let common = min(media.count, expected.count)
        if let index = (0..<common).first(where: { media[$0] != expected[$0] }) { return context.compareOffset + index }
        // Equal as far as both go: a short read differs where it ends; identical data says nothing.
        return media.count == expected.count ? nil : context.compareOffset + common
    }
}

extension GenericStatus {
    /// Reference 1.5 "Generic Command Status" mapping.
    var condition: SenseCondition {
        switch self {
        case .success: SenseCondition(.noSense, .noAdditionalSense, status: .good)
        case .invalidCommandOpcode: SenseCondition(.illegalRequest, .invalidCommandOperationCode)
        case .invalidFieldInCommand: SenseCondition(.illegalRequest, .invalidFieldInCDB)
        case .invalidSGLSegmentDescriptor, .invalidNumberOfSGLDescriptors, .dataSGLLengthInvalid,
             .metadataSGLLengthInvalid, .sglDescriptorTypeInvalid, .invalidUseOfCMB, .prpOffsetInvalid,
             .sglOffsetInvalid, .sglDataBlockGranularityInvalid, .commandIDConflict, .commandSequenceError,
             .atomicWriteUnitExceeded, .hostIdentifierInconsistentFormat, .keepAliveTimerExpired,
             .keepAliveTimeoutInvalid:
            StatusMapping.notTheInitiatorsCDB
        case .dataTransferError: SenseCondition(.mediumError, .noAdditionalSense)
        case .abortedPowerLoss: SenseCondition(.abortedCommand, .warningPowerLossExpected, status: .taskAborted)
        case .internalError: SenseCondition(.hardwareError, .internalTargetFailure)
        case .abortRequested, .abortedSQDeletion, .abortedFailedFused, .abortedMissingFused,
             .abortedPreemptAndAbort:
            SenseCondition(.abortedCommand, .noAdditionalSense, status: .taskAborted)
        case .invalidNamespaceOrFormat: SenseCondition(.illegalRequest, .accessDeniedInvalidLUIdentifier)
        case .operationDenied: SenseCondition(.illegalRequest, .accessDeniedNoAccessRights)
        case .sanitizeFailed: SenseCondition(.mediumError, .noAdditionalSense)
        case .sanitizeInProgress: SenseCondition(.notReady, .notReadySanitizeInProgress)
        case .namespaceWriteProtected: SenseCondition(.dataProtect, .writeProtected)
        case .commandInterrupted, .transientTransportError: SenseCondition(.abortedCommand, .noAdditionalSense)
        case .lbaOutOfRange: SenseCondition(.illegalRequest, .lbaOutOfRange)
        case .capacityExceeded: SenseCondition(.mediumError, .noAdditionalSense)
        case .namespaceNotReady: SenseCondition(.notReady, .notReadyCauseNotReportable)
        case .reservationConflict: SenseCondition(.noSense, .noAdditionalSense, status: .reservationConflict)
        case .formatInProgress: SenseCondition(.notReady, .notReadyFormatInProgress)
        }
    }
}
