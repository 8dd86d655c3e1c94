#if canImport(Glibc)
import Glibc
#endif
import DMAMapper
import Logging
import MockNVMe
import NVMe
import SCSIController

// What scripts/callgrind.sh runs under callgrind to count the driver's own instructions: the
// engine on the inline, data-discarding mock (the doorbell write completes the commands at once),
// driven three ways, `ios` I/Os of `bytes` each:
//   queue-pair prp|sgl BYTES IOS: the raw queue pair with the least loop a caller can write,
//     32 commands per SQ doorbell, one poll pass per batch - the driver alone;
//   block-read BYTES IOS: one `IOQueue.read` at a time - the unbatched block API;
//   scsi-read10 BYTES IOS: one READ(10) task at a time through `SCSIHostAdapter.process`.
// The script subtracts the mock's share (the inclusive cost of its register writes) and
// differences two run lengths, so start-up cancels out.

let arguments = CommandLine.arguments
guard arguments.count == 5 || (arguments.count == 4 && arguments[1] != "queue-pair"),
      let ios = Int(arguments.last!), let bytes = Int(arguments[arguments.count - 2]), bytes > 0, bytes % 512 == 0, ios > 0 else {
    print("usage: CallgrindProbe queue-pair prp|sgl BYTES IOS | block-read BYTES IOS | scsi-read10 BYTES IOS")
    exit(2)
}
let depth = 32
var configuration = MockConfiguration()
configuration.discardData = true
configuration.executionMode = .inline
configuration.sglSupported = true
let mock = MockController(configuration: configuration)
var options = ControllerOptions()
options.ioQueueDepth = 256
options.dataPointerMode = arguments.count == 5 && arguments[2] == "sgl" ? .sgl : .prp
options.logger = Logger(label: "probe") { _ in SwiftLogNoOpLogHandler() }
let controller = try NVMeController(device: mock, options: options)
let ioQueue = controller.ioQueues[0]
let buffer = try controller.mapper.allocate(length: bytes * depth)
let blocks = bytes / 512
var failures = 0

switch arguments[1] {
case "queue-pair":
    let queue = ioQueue.queuePair
    var command = SubmissionQueueEntry.io(.read, nsid: 1, lba: 0, blocks: blocks)
    let base = buffer.iova
    var submitted = 0
    var completed = 0
    while completed < ios {
        // A batch fills the queue up to `depth` in flight; each command has its own buffer slot.
        let batchEnd = min(completed &+ depth, ios)
        while submitted < batchEnd {
            let slot = submitted & (depth - 1)
            // Slots' LBAs lie far below 2^32: a 32-bit product leaves CDW11 (the LBA's high half) 0.
            command.startingLBA = UInt64(UInt32(truncatingIfNeeded: slot &* blocks))
            if queue.submit(command, dataIOVA: base &+ UInt64(truncatingIfNeeded: slot &* bytes), dataLength: bytes,
                            tag: UInt64(truncatingIfNeeded: submitted)) != .submitted { failures += 1; break }
            submitted &+= 1
        }
        queue.ringDoorbell()
        completed &+= queue.poll { completion in
            if !completion.status.isSuccess { failures &+= 1 }
        }
    }
case "block-read":
    for index in 0..<ios where !ioQueue.read(nsid: 1, lba: UInt64(index % 4096) * UInt64(blocks), blocks: blocks, into: buffer).succeeded {
        failures += 1
    }
case "scsi-read10":
    let adapter = SCSIHostAdapter(controller: controller)
    var task = SCSITask(lun: 0, cdb: [0x28, 0, 0, 0, 0, 0, 0, UInt8(blocks >> 8), UInt8(blocks & 0xFF), 0], buffer: buffer,
                        transferLength: bytes, direction: .fromDevice)
    _ = adapter.process(SCSITask(cdb: [0x00, 0, 0, 0, 0, 0]), on: ioQueue)  // the power-on unit attention
    for index in 0..<ios {
        // The LBA's four bytes in one store (big-endian, CDB bytes 2-5): the caller's own work
        // stays out of the count as far as it can.
        let lba = UInt32(index % 4096) * UInt32(blocks)
        storeLBA(lba, into: &task.cdb)
        if adapter.process(task, on: ioQueue).status != .good { failures += 1 }
    }
default:
    print("unknown mode \(arguments[1])")
    exit(2)
}
try controller.stop()
if failures > 0 {
    print("\(failures) I/Os failed on the null mock: the probe's setup is broken")
    exit(1)
}

/// A READ(10) CDB's LBA (bytes 2-5, big-endian) in one store. Not a closure in the top-level
/// code, which would be main-actor isolated and checked at every call.
nonisolated func storeLBA(_ lba: UInt32, into cdb: inout [UInt8]) {
    cdb.withUnsafeMutableBytes { $0.storeBytes(of: lba.bigEndian, toByteOffset: 2, as: UInt32.self) }
}
