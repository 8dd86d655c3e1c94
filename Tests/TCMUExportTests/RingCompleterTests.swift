import RingSupport
import Testing
@testable import TCMUExport

@Suite struct RingCompleterTests {
    func makeCompleter(_ image: RingImage) throws -> RingCompleter {
        let geometry = try RingGeometry(map: UnsafeRawBufferPointer(image.bytes))
        var completer = RingCompleter(map: image.map, geometry: geometry, capacity: 8)
        completer.start(at: 0)
        return completer
    }

    @Test func aResponseGoesIntoTheEntryAtTheTailWhicheverCommandItIs() throws {
        let image = RingImage()
        let first = image.command(id: 10, cdb: [0, 0, 0, 0, 0, 0], iovecs: [])
        let second = image.command(id: 11, cdb: [0, 0, 0, 0, 0, 0], iovecs: [])
        var completer = try makeCompleter(image)
        completer.record(length: second - first, command: true)
        completer.record(length: image.head - second, command: true)
        // Command 11 finishes first: the kernel finds its id in the first entry (out-of-order completion).
        let sense: [UInt8] = [0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0, 0, 0, 0, 0]
        completer.complete(id: 11, response: RingResponse(status: .checkCondition), sense: sense)
        completer.publish()
        #expect(image.tail == second)
        let response = image.response(at: first)
        #expect(response.id == 11 && response.status == 0x02 && response.uflags == 0)
        #expect(Array(response.sense.prefix(18)) == sense && response.sense.dropFirst(18).allSatisfy { $0 == 0 })
        completer.complete(id: 10, response: RingResponse(status: .good, readLength: 20), sense: [])
        completer.publish()
        #expect(image.tail == image.head)
        let last = image.response(at: second)
        #expect(last.id == 10 && last.status == 0 && last.uflags == 0x2 && last.readLength == 20)
    }

    @Test func paddingIsPassedAndTheTailWraps() throws {
        let image = RingImage(ringSize: 1024)
        var completer = try makeCompleter(image)
        var position = 0
        // Fill to near the end, completing as we go, so the next command needs a PAD and wraps.
        while image.ringSize - image.head >= 120 {
            let start = image.command(id: 1, cdb: [0, 0, 0, 0, 0, 0], iovecs: [])
            completer.record(length: image.head - start, command: true)
            completer.complete(id: 1, response: RingResponse(status: .good), sense: [])
            position = image.head
        }
        let padLength = image.ringSize - image.head
        let wrapped = image.command(id: 2, cdb: [0, 0, 0, 0, 0, 0], iovecs: [])
        #expect(wrapped == 0)
        completer.record(length: padLength, command: false)
        #expect(completer.tail == 0, "a PAD at the tail with nothing before it is passed at once")
        completer.record(length: image.head, command: true)
        completer.complete(id: 2, response: RingResponse(status: .good), sense: [])
        completer.publish()
        #expect(image.tail == image.head && position > 0)
        #expect(image.response(at: 0).id == 2)
    }

    @Test func withoutReadLengthSupportNoReadLengthIsClaimed() throws {
        let image = RingImage(flags: 0x1)
        image.command(id: 5, cdb: [0x12, 0, 0, 0, 36, 0], iovecs: [])
        var completer = try makeCompleter(image)
        completer.record(length: image.head, command: true)
        completer.complete(id: 5, response: RingResponse(status: .good, readLength: 8), sense: [])
        #expect(image.response(at: 0).uflags == 0)
    }
}
