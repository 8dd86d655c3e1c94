import NVMe
import PCIDevice

/// The admin command set (NVMe Base 2.0, chapter 5) as far as a driver needs it.
extension ControllerState {
    mutating func executeAdmin(_ entry: SubmissionQueueEntry) -> Disposition {
        do throws(CommandFailure) {
            switch AdminOpcode(rawValue: entry.opcode) {
            case .identify?: try identify(entry)
            case .getFeatures?: return .done(.success, try getFeatures(entry))
            case .setFeatures?: return .done(.success, try setFeatures(entry))
            case .createIOCompletionQueue?: try createCompletionQueue(entry)
            case .createIOSubmissionQueue?: try createSubmissionQueue(entry)
            case .deleteIOSubmissionQueue?: try deleteSubmissionQueue(entry)
            case .deleteIOCompletionQueue?: try deleteCompletionQueue(entry)
            case .getLogPage?: try getLogPage(entry)
            case .doorbellBufferConfig?: try configureDoorbellBuffers(entry)
            case .abort?: return abort(entry)
            case .asynchronousEventRequest?: return asynchronousEventRequest(entry)
            default: throw CommandFailure(.invalidCommandOpcode)
            }
            return .done(.success, 0)
        } catch {
            recordPointerFault(error, entry, sqid: 0)
            return .done(error.status, 0)
        }
    }

    /// Copies `bytes` to the host buffer of `entry` (PRPs), `length` bytes, zero-padding past the data.
    mutating func sendToHost(_ entry: SubmissionQueueEntry, _ bytes: UnsafeRawBufferPointer, length: Int) throws(CommandFailure) {
        if let limit = checks.maximumTransferBytes, length > limit { throw CommandFailure(.invalidFieldInCommand) }
        try walker.map(entry, length: length, access: .deviceWrites)
        var cursor = SegmentCursor()
        let available = min(length, bytes.count)
        if available > 0 { cursor.write(walker.segments, from: bytes.baseAddress, count: available) }
        if length > available { cursor.write(walker.segments, from: nil, count: length - available) }
    }

    /// `sendToHost` for a page built in an array, from byte `offset` of it.
    mutating func sendToHost(_ entry: SubmissionQueueEntry, _ page: [UInt8], from offset: Int, length: Int) throws(CommandFailure) {
        let result = page.withUnsafeBytes { bytes in
            Result { () throws(CommandFailure) in
                try sendToHost(entry, UnsafeRawBufferPointer(rebasing: bytes[offset...]), length: length)
            }
        }
        try result.get()
    }
}
