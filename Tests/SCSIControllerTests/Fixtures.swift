import DMAMapper
import Logging
import MockNVMe
import NVMe
@testable import SCSIController

/// A mock controller and an engine brought up on it, with test-friendly options.
struct Rig {
    let mock: MockController
    let controller: NVMeController
    var queue: IOQueue { controller.ioQueues[0] }
    var nsid: UInt32 { controller.namespaces[0].id }
    var blockSize: Int { controller.namespaces[0].blockSize }

    init(_ configure: (inout MockConfiguration) -> Void = { _ in },
         options configureOptions: (inout ControllerOptions) -> Void = { _ in }) throws {
        var configuration = MockConfiguration()
        configure(&configuration)
        mock = MockController(configuration: configuration)
        var options = ControllerOptions()
        options.pinning = .disabled
        options.ioQueueDepth = 64
        options.commandTimeoutMilliseconds = 300
        options.logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        configureOptions(&options)
        controller = try NVMeController(device: mock, options: options)
    }

    /// A buffer filled with a pattern that differs per byte position and per `seed`.
    func patterned(bytes: Int, seed: UInt64) throws -> DMABuffer {
        let buffer = try controller.mapper.allocate(length: bytes)
        fill(buffer, seed: seed)
        return buffer
    }
}

/// Writes a position- and seed-dependent pattern, eight bytes at a time.
func fill(_ buffer: DMABuffer, seed: UInt64) {
    let words = buffer.address.bindMemory(to: UInt64.self, capacity: buffer.length / 8)
    for index in 0..<(buffer.length / 8) {
        words[index] = (UInt64(index) &* 0x9E37_79B9_7F4A_7C15) ^ seed
    }
}

/// Whether two buffers hold the same bytes over `count` bytes.
func same(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
    memcmp(a, b, count) == 0
}

#if canImport(Glibc)
import Glibc
#endif
