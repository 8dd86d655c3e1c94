#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PCIDevice

/// MSI-X as the mock models it: `MockConfiguration.interruptVectors` vectors, each of which the
/// host may give an eventfd (what VFIO_DEVICE_SET_IRQS does for a real function). A completion
/// posted to a queue created with IEN set raises the queue's vector: its eventfd's count goes up
/// by one, after the entry is visible in host memory. The admin queue's completions raise vector 0.
/// No coalescing (Feature 08h is not modelled) and no masking: one signal per posted entry.
extension MockController {
    /// `MockConfiguration.interruptVectors`.
    public var interruptVectorCount: Int { configuration.interruptVectors }

    /// Makes `eventfds[v]` (duplicated: the controller keeps its own reference, as the kernel
    /// does) the trigger of vector v; an empty array removes every trigger.
    public func setInterruptTriggers(_ eventfds: [Int32]) throws(InterruptTriggerError) {
        guard eventfds.count <= configuration.interruptVectors else {
            throw InterruptTriggerError(description: "\(name) has \(configuration.interruptVectors) MSI-X vector(s); \(eventfds.count) were asked for")
        }
        var duplicates: [Int32] = []
        for fd in eventfds {
            guard fd >= 0 else {
                duplicates.append(-1)
                continue
            }
            let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
            guard copy >= 0 else {
                let error = errno
                for made in duplicates where made >= 0 { close(made) }
                throw InterruptTriggerError(description: "\(name): cannot keep eventfd \(fd) (errno \(error))")
            }
            duplicates.append(copy)
        }
        let old = withControllerState { state in
            defer { state.interruptTriggers = duplicates }
            return state.interruptTriggers
        }
        for fd in old where fd >= 0 { close(fd) }
    }
}

extension ControllerState {
    /// Raises MSI-X `vector`: signals its eventfd, when the host gave it one.
    mutating func raiseInterrupt(_ vector: Int) {
        guard vector < interruptTriggers.count else { return }
        let fd = interruptTriggers[vector]
        guard fd >= 0 else { return }
        var one: UInt64 = 1
        _ = write(fd, &one, MemoryLayout<UInt64>.size)
    }
}
