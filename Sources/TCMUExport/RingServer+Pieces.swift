import DMAMapper
import SCSIController
import Translation

extension RingServer {
    /// Serves `command` in pieces when it is a READ or WRITE too large for `buffer`
    /// (`BlockPieces`); returns false, having done nothing, for any other.
    func servedInPieces(_ command: ParsedCommand, in buffer: DMABuffer, on queue: IOQueue) -> Bool {
        guard command.transferLength > buffer.length, lun < UInt64(adapter.facts.luns.count),
              let pieces = BlockPieces(cdb: command.cdb, given: command.transferLength,
                                       unit: adapter.facts.luns[Int(lun)],
                                       bufferBytes: buffer.length, transferLimit: command.transferLimit)
        else { return false }
        var sense: [UInt8] = []
        for index in 0..<pieces.count {
            let piece = pieces.piece(index)
            let bytes = Int(piece.blocks) * pieces.blockSize
            let region = UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[0..<bytes])
            if pieces.direction == .toDevice {
                DataCopy.gather(command.iovecs, from: map, startingAt: piece.byteOffset, into: region)
            }
            pieces.cdb(of: index, into: &command.pieceCDB)
            let outcome = adapter.process(SCSITask(lun: lun, cdb: command.pieceCDB, buffer: buffer, transferLength: bytes,
                                                   direction: pieces.direction, tag: UInt64(command.id)), on: queue)
            guard outcome.serviceResponse == .taskComplete else {
                respondUndelivered(command, outcome, what: "piece \(index + 1) of \(pieces.count) of command \(command.id)")
                return true
            }
            guard outcome.status == .good else {
                respond(command.id, RingResponse(status: outcome.status), sense: outcome.sense)
                return true
            }
            if pieces.direction == .fromDevice {
                DataCopy.scatter(bytes, of: UnsafeRawBufferPointer(region), into: command.iovecs, startingAt: piece.byteOffset, of: map)
            }
            sense = outcome.sense
        }
        respond(command.id, RingResponse(status: .good), sense: sense)
        return true
    }
}
