import Testing
import NVMe

/// Every opcode, status code and descriptor type the module names, against the spec tables:
/// NVMe Base 2.0 "Opcodes for Admin Commands", "Status Code - Generic Command Status Values",
/// "Status Code - Command Specific Status Values", "Status Code - Media and Data Integrity Errors
/// Values", "SGL Descriptor Type"; NVM Command Set 1.0 "Opcodes for NVM Commands" and its status
/// values. Each table lists every case, so a case added without a spec value fails the count.
@Suite struct SpecValueTests {
    @Test func adminOpcodes() {
        let table: [(AdminOpcode, UInt8)] = [
            (.deleteIOSubmissionQueue, 0x00), (.createIOSubmissionQueue, 0x01), (.getLogPage, 0x02),
            (.deleteIOCompletionQueue, 0x04), (.createIOCompletionQueue, 0x05), (.identify, 0x06),
            (.abort, 0x08), (.setFeatures, 0x09), (.getFeatures, 0x0A), (.asynchronousEventRequest, 0x0C),
            (.namespaceManagement, 0x0D), (.firmwareCommit, 0x10), (.firmwareImageDownload, 0x11),
            (.deviceSelfTest, 0x14), (.namespaceAttachment, 0x15), (.keepAlive, 0x18),
            (.doorbellBufferConfig, 0x7C), (.formatNVM, 0x80), (.sanitize, 0x84),
        ]
        for (opcode, value) in table { #expect(opcode.rawValue == value, "\(opcode)") }
        #expect(table.count == AdminOpcode.allCases.count)
    }

    @Test func nvmOpcodes() {
        let table: [(NVMOpcode, UInt8)] = [
            (.flush, 0x00), (.write, 0x01), (.read, 0x02), (.writeUncorrectable, 0x04), (.compare, 0x05),
            (.writeZeroes, 0x08), (.datasetManagement, 0x09), (.verify, 0x0C), (.reservationRegister, 0x0D),
            (.reservationReport, 0x0E), (.reservationAcquire, 0x11), (.reservationRelease, 0x15), (.copy, 0x19),
        ]
        for (opcode, value) in table { #expect(opcode.rawValue == value, "\(opcode)") }
        #expect(table.count == NVMOpcode.allCases.count)
    }

    @Test func statusCodeTypes() {
        let table: [(StatusCodeType, UInt8)] = [
            (.generic, 0), (.commandSpecific, 1), (.mediaAndDataIntegrity, 2), (.pathRelated, 3), (.vendorSpecific, 7),
        ]
        for (type, value) in table { #expect(type.rawValue == value, "\(type)") }
        #expect(table.count == StatusCodeType.allCases.count)
    }

    @Test func genericStatusValues() {
        let table: [(GenericStatus, UInt8)] = [
            (.success, 0x00), (.invalidCommandOpcode, 0x01), (.invalidFieldInCommand, 0x02),
            (.commandIDConflict, 0x03), (.dataTransferError, 0x04), (.abortedPowerLoss, 0x05),
            (.internalError, 0x06), (.abortRequested, 0x07), (.abortedSQDeletion, 0x08),
            (.abortedFailedFused, 0x09), (.abortedMissingFused, 0x0A), (.invalidNamespaceOrFormat, 0x0B),
            (.commandSequenceError, 0x0C), (.invalidSGLSegmentDescriptor, 0x0D),
            (.invalidNumberOfSGLDescriptors, 0x0E), (.dataSGLLengthInvalid, 0x0F),
            (.metadataSGLLengthInvalid, 0x10), (.sglDescriptorTypeInvalid, 0x11), (.invalidUseOfCMB, 0x12),
            (.prpOffsetInvalid, 0x13), (.atomicWriteUnitExceeded, 0x14), (.operationDenied, 0x15),
            (.sglOffsetInvalid, 0x16), (.hostIdentifierInconsistentFormat, 0x18),
            (.keepAliveTimerExpired, 0x19), (.keepAliveTimeoutInvalid, 0x1A), (.abortedPreemptAndAbort, 0x1B),
            (.sanitizeFailed, 0x1C), (.sanitizeInProgress, 0x1D), (.sglDataBlockGranularityInvalid, 0x1E),
            (.namespaceWriteProtected, 0x20), (.commandInterrupted, 0x21), (.transientTransportError, 0x22),
            // NVM Command Set 1.0, "Status Code - Generic Command Status Values, NVM Command Set".
            (.lbaOutOfRange, 0x80), (.capacityExceeded, 0x81), (.namespaceNotReady, 0x82),
            (.reservationConflict, 0x83), (.formatInProgress, 0x84),
        ]
        for (status, value) in table { #expect(status.rawValue == value, "\(status)") }
        #expect(table.count == GenericStatus.allCases.count)
    }

    @Test func commandSpecificStatusValues() {
        let table: [(CommandSpecificStatus, UInt8)] = [
            (.completionQueueInvalid, 0x00), (.invalidQueueIdentifier, 0x01), (.invalidQueueSize, 0x02),
            (.abortCommandLimitExceeded, 0x03), (.asynchronousEventRequestLimitExceeded, 0x05),
            (.invalidFirmwareSlot, 0x06), (.invalidFirmwareImage, 0x07), (.invalidInterruptVector, 0x08),
            (.invalidLogPage, 0x09), (.invalidFormat, 0x0A), (.invalidQueueDeletion, 0x0C),
            (.featureIdentifierNotSaveable, 0x0D), (.featureNotChangeable, 0x0E),
            (.featureNotNamespaceSpecific, 0x0F),
            // NVM Command Set 1.0, "Status Code - Command Specific Status Values, NVM Command Set".
            (.conflictingAttributes, 0x80), (.invalidProtectionInformation, 0x81),
            (.attemptedWriteToReadOnlyRange, 0x82),
        ]
        for (status, value) in table { #expect(status.rawValue == value, "\(status)") }
        #expect(table.count == CommandSpecificStatus.allCases.count)
    }

    @Test func mediaStatusValues() {
        let table: [(MediaStatus, UInt8)] = [
            (.writeFault, 0x80), (.unrecoveredReadError, 0x81), (.endToEndGuardCheckError, 0x82),
            (.endToEndApplicationTagCheckError, 0x83), (.endToEndReferenceTagCheckError, 0x84),
            (.compareFailure, 0x85), (.accessDenied, 0x86), (.deallocatedOrUnwrittenLogicalBlock, 0x87),
        ]
        for (status, value) in table { #expect(status.rawValue == value, "\(status)") }
        #expect(table.count == MediaStatus.allCases.count)
    }

    @Test func sglDescriptorTypes() {
        let table: [(SGLDescriptorType, UInt8)] = [
            (.dataBlock, 0), (.bitBucket, 1), (.segment, 2), (.lastSegment, 3), (.keyedDataBlock, 4),
            (.transportDataBlock, 5),
        ]
        for (type, value) in table {
            #expect(type.rawValue == value, "\(type)")
            // The type sits in the identifier's high nibble.
            #expect(SGLDescriptor(type: type, address: 0, length: 0).identifier == value << 4, "\(type)")
        }
        #expect(table.count == SGLDescriptorType.allCases.count)
    }

    @Test func featureCNSAndLogPageIdentifiers() {
        let features: [(FeatureID, UInt8)] = [
            (.arbitration, 0x01), (.powerManagement, 0x02), (.temperatureThreshold, 0x04), (.errorRecovery, 0x05),
            (.volatileWriteCache, 0x06), (.numberOfQueues, 0x07), (.interruptCoalescing, 0x08),
            (.asynchronousEventConfiguration, 0x0B),
        ]
        for (feature, value) in features { #expect(feature.rawValue == value, "\(feature)") }
        #expect(features.count == FeatureID.allCases.count)
        #expect(IdentifyCNS.namespace.rawValue == 0x00 && IdentifyCNS.controller.rawValue == 0x01)
        #expect(IdentifyCNS.activeNamespaceList.rawValue == 0x02)
        #expect(IdentifyCNS.namespaceIdentificationDescriptors.rawValue == 0x03)
        #expect(LogPageID.errorInformation.rawValue == 0x01 && LogPageID.smartHealth.rawValue == 0x02)
        #expect(LogPageID.firmwareSlot.rawValue == 0x03)
    }

    @Test func statusFieldBitsSitWhereDwordThreePutsThem() {
        // DW3 bits 31:16: P 16, SC 24:17, SCT 27:25, CRD 29:28, M 30, DNR 31.
        let phaseBit: UInt32 = 1 << 16, code: UInt32 = 0x86 << 17, type: UInt32 = 2 << 25
        let dw3: UInt32 = phaseBit | code | type | 0b10 << 28 | 1 << 30 | 1 << 31
        var entry = CompletionQueueEntry()
        entry.statusAndPhase = UInt16(dw3 >> 16)
        #expect(entry.phase)
        #expect(entry.status.code == 0x86 && entry.status.type == .mediaAndDataIntegrity)
        #expect(entry.status.matches(.accessDenied))
        #expect(entry.status.crd == 0b10 && entry.status.more && entry.status.doNotRetry)
        #expect(!entry.status.isSuccess)
        let built = CompletionStatus(type: .commandSpecific, code: 0x02, doNotRetry: true, more: true)
        let expected: UInt32 = 0x02 << 17 | 1 << 25 | 1 << 30 | 1 << 31
        #expect(UInt32(built.rawValue) << 17 == expected)
        #expect(CompletionStatus(rawValue: 0xFFFF).rawValue == 0x7FFF, "the Status field is 15 bits")
        #expect(CompletionStatus(type: .vendorSpecific, code: 0xC0).rawValue == 0x7 << 8 | 0xC0)
    }
}
