import NVMe

/// Finishes a plan: NVMe completion status -> SCSI status and sense (Reference 1.5, "Status
/// Mapping"; Linux's former drivers/nvme/host/scsi.c followed the same table), then applies the
/// plan's state change when everything succeeded.
///
/// The first failing result (lowest operation index) decides the response. When no result
/// failed, every operation of the plan must have at least one result; a plan the engine did not
/// finish is reported as ABORTED COMMAND rather than as success.
public func complete(_ context: CompletionContext, results: [NVMeResult], facts: DeviceFacts,
                     state: inout LogicalUnitState) -> SCSIResponse {
    // Saturating: the counts come from the engine (and through it from the device).
    let transferred = results.reduce(0) { total, result in
        let (sum, overflow) = total.addingReportingOverflow(max(0, result.bytesTransferred))
        return overflow ? Int.max : sum
    }
    let residual = max(0, context.transferLength - transferred)
    let failure = results.filter { !$0.status.isSuccess }.min { $0.operationIndex < $1.operationIndex }
    if let failure {
        var condition = StatusMapping.condition(for: failure.status)
        if condition.key == .miscompare {
            condition.information = StatusMapping.miscompareOffset(failure, context).map { UInt64($0) }
        } else if condition.key == .mediumError, let lba = failure.failingLBA {
            condition.information = lba
        }
        let sense = condition.status == .reservationConflict
            ? [] : SenseData.build(condition, descriptorFormat: state.descriptorSense)
        return SCSIResponse(status: condition.status, sense: sense, residual: residual)
    }
    let done = Set(results.map(\.operationIndex))
    guard (0..<context.operationCount).allSatisfy(done.contains) else {
        let condition = SenseCondition(.abortedCommand, .noAdditionalSense)
        return SCSIResponse(status: .checkCondition,
                            sense: SenseData.build(condition, descriptorFormat: state.descriptorSense),
                            residual: residual)
    }
    switch context.onSuccess {
    case .nothing: break
    case let .modeSelect(writeCacheEnabled, descriptorSense):
        if let writeCacheEnabled { state.writeCacheEnabled = writeCacheEnabled }
        if let descriptorSense { state.descriptorSense = descriptorSense }
    case .stop: state.stopped = true
    case .start: state.stopped = false
    }
    return SCSIResponse(status: .good, residual: residual)
}

enum StatusMapping {
    /// The SCSI status and sense for an NVMe status that is not success.
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
