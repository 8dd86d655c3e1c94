import Foundation
import Synchronization
import Testing
@testable import PCIDevice

/// vfio-pci's device request (the kernel asking for a device it is removing back from user
/// space): the watch thread that hears it, and the register region that then behaves as a
/// removed device's - reads all ones, as a vanished PCIe function answers, and writes that never
/// reach the device. A shared file mapping stands in for BAR0: what the "device" holds is read
/// from the file itself, past the region's mapping.
@Suite struct DeviceRequestTests {
    /// Signals the eventfd the way the kernel does: adds 1 to its count.
    static func signal(_ watch: DeviceRequestWatch) {
        var one: UInt64 = 1
        #expect(write(watch.requestDescriptor, &one, 8) == 8)
    }

    /// Waits (at most 10 s, so a broken watch fails instead of hanging) until `done()`.
    static func wait(_ done: () -> Bool) -> Bool {
        for _ in 0..<10_000 {
            if done() { return true }
            usleep(1000)
        }
        return done()
    }

    /// The 32-bit value at `offset` of the file behind the region: what the device holds.
    static func deviceValue(_ fd: Int32, at offset: Int) -> UInt32 {
        var value: UInt32 = 0
        #expect(pread(fd, &value, 4, off_t(offset)) == 4)
        return value
    }

    /// Runs `body` with a 16 KiB file, its descriptor, and a shared region mapping it.
    static func withFileRegion(_ body: (Int32, MMIORegion) throws -> Void) throws {
        let path = NSTemporaryDirectory() + "bar0-" + UUID().uuidString
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        try #require(fd >= 0)
        defer { close(fd); unlink(path) }
        try #require(ftruncate(fd, 16384) == 0)
        try body(fd, try MMIORegion(mapping: fd, offset: 0, size: 16384, what: "a file standing in for BAR0"))
    }

    @Test func aRemovedRegionReadsAllOnesAndItsWritesNeverReachTheDevice() throws {
        try Self.withFileRegion { fd, region in
            region.store32(0x0000_0001, at: 0x1c)  // CSTS.RDY, as a ready controller shows it
            region.store64(0x1234_5678, at: 0)
            #expect(Self.deviceValue(fd, at: 0x1c) == 1, "before the removal, accesses reach the device")
            #expect(!region.behavesAsRemoved)

            try region.behaveAsRemoved()

            #expect(region.behavesAsRemoved)
            #expect(region.load32(at: 0x1c) == 0xFFFF_FFFF)
            #expect(region.load64(at: 0) == .max)
            #expect(region.load32(at: 16380) == 0xFFFF_FFFF, "the whole region, to its last register")
            region.store32(7, at: 0x1000)  // a doorbell
            region.store64(9, at: 0x28)
            #expect(Self.deviceValue(fd, at: 0x1000) == 0 && Self.deviceValue(fd, at: 0x28) == 0)
            #expect(Self.deviceValue(fd, at: 0x1c) == 1, "the device's own registers are left as they were")
            #expect(region.rejectedReadCount == 0 && region.droppedWriteCount == 0, "no access was out of range")
            try region.behaveAsRemoved()  // a second request changes nothing
            #expect(region.load32(at: 0x1c) == 0xFFFF_FFFF)
        }
    }

    @Test func aRequestRunsTheCallbackOnceOnTheWatchThread() throws {
        let calls = Atomic<Int>(0)
        let watch = try DeviceRequestWatch { calls.add(1, ordering: .relaxed) }
        #expect(!watch.requested)
        Self.signal(watch)
        #expect(Self.wait { calls.load(ordering: .relaxed) == 1 }, "the callback never ran")
        #expect(watch.requested)
        Self.signal(watch)  // the kernel asks again every 10 s while it waits
        watch.stop()
        #expect(calls.load(ordering: .relaxed) == 1)
    }

    @Test func stopEndsAWatchThatHeardNothing() throws {
        let calls = Atomic<Int>(0)
        let watch = try DeviceRequestWatch { calls.add(1, ordering: .relaxed) }
        watch.stop()
        watch.stop()
        #expect(!watch.requested && calls.load(ordering: .relaxed) == 0)
        Self.signal(watch)  // after stop nobody listens
        usleep(10_000)
        #expect(!watch.requested && calls.load(ordering: .relaxed) == 0)
        // Dropping watches without a stop joins their threads too (deinit); this must return.
        for _ in 0..<50 { _ = try DeviceRequestWatch {} }
    }

    /// The wiring VFIODevice makes: the request turns BAR0 into a removed device's registers.
    @Test func aRequestMakesTheRegionBehaveAsRemoved() throws {
        try Self.withFileRegion { fd, region in
            region.store32(1, at: 0x1c)
            let watch = try DeviceRequestWatch { try? region.behaveAsRemoved() }
            #expect(region.load32(at: 0x1c) == 1)
            Self.signal(watch)
            #expect(Self.wait { region.load32(at: 0x1c) == 0xFFFF_FFFF }, "CSTS still reads as the device's after the request")
            region.store32(3, at: 0x1008)
            #expect(Self.deviceValue(fd, at: 0x1008) == 0)
            watch.stop()
        }
    }
}
