import Foundation
import Synchronization
import Translation

/// Answers every command on the ring of a backstore whose handler died, while its fabric LUNs are
/// removed: without an answer each command (sd's final SYNCHRONIZE CACHE first) waits out TCMU's
/// command timeout and the SCSI error handler's escalation, more than a minute. Each command gets
/// CHECK CONDITION, HARDWARE ERROR, LOGICAL UNIT COMMUNICATION FAILURE: its handler is gone, and
/// what it held in the device's volatile cache with it. No data is read or written.
public final class StaleRingDrainer: Sendable {
    let device: UIODevice
    let stopRequested = Atomic<Bool>(false)
    let finished = DispatchSemaphore(value: 0)
    /// Commands answered.
    let answered = Atomic<Int>(0)

    /// Opens the uio device of the backstore at configfs `path` (core/user_N/NAME) with `devConfig`,
    /// and starts answering on a thread of its own; nil when no such device is found or opened.
    public init?(backstorePath path: String, devConfig: String, paths: SystemPaths) {
        let parts = path.split(separator: "/")
        guard parts.count == 3, let hba = parts[1].split(separator: "_").last,
              let name = findUIO(named: "tcm-user/\(hba)/\(parts[2])/\(devConfig)", sysfsRoot: paths.sysfs),
              let device = try? UIODevice(path: paths.dev + "/" + name, sizePath: "\(paths.sysfs)/class/uio/\(name)/maps/map0/size"),
              let parser = try? RingParser(map: device.map) else { return nil }
        self.device = device
        let tail = Int(device.map.load(RingLayout.tailOffset, as: UInt32.self))
        guard let start = try? parser.geometry.checkedHead(UInt32(tail)) else { return nil }
        let thread = Thread { [self] in
            drain(parser, from: start)
            finished.signal()
        }
        thread.name = "tcmu-stale-drain"
        thread.start()
    }

    /// Stops answering; returns the number of commands answered.
    @discardableResult
    public func stop() -> Int {
        stopRequested.store(true, ordering: .releasing)
        finished.wait()
        return answered.load(ordering: .relaxed)
    }

    func drain(_ parser: RingParser, from start: Int) {
        let sense = SenseData.build(SenseCondition(.hardwareError, .logicalUnitCommunicationFailure), descriptorFormat: false)
        let command = ParsedCommand(iovecCapacity: 1, transferCapacity: 0)
        var completer = RingCompleter(map: device.map, geometry: parser.geometry, capacity: 1)
        completer.start(at: start)
        var cursor = start
        while !stopRequested.load(ordering: .acquiring) {
            guard let head = try? parser.head() else { return }
            if cursor == head {
                _ = device.waitForKick(milliseconds: 50)
                continue
            }
            // The entry's commands are failed whatever their iovecs: a malformed one is answered too.
            guard let entry = try? parser.entry(at: cursor, head: head, into: command) else { return }
            cursor = (cursor + entry.length) % parser.geometry.commandRingSize
            if case .skip = entry {
                completer.record(length: entry.length, command: false)
            } else {
                completer.record(length: entry.length, command: true)
                completer.complete(id: command.id, response: RingResponse(status: .checkCondition), sense: sense)
                answered.add(1, ordering: .relaxed)
            }
            completer.publish()
            device.kick()
        }
    }
}
