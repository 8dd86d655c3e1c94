import SCSIController
import Translation

extension RingServer {
    /// Serves the worker's command in pieces when it is a READ or WRITE too large for the
    /// worker's buffer (`BlockPieces`); returns false, having done nothing, for any other.
    func servedInPieces(_ worker: RingWorker) -> Bool {
        let command = worker.command
        guard command.transferLength > worker.buffer.length, lun < UInt64(adapter.facts.luns.count),
              let pieces = BlockPieces(cdb: command.cdb, given: command.transferLength,
                                       unit: adapter.facts.luns[Int(lun)],
                                       bufferBytes: worker.buffer.length, transferLimit: command.transferLimit)
        else { return false }
        var sense: [UInt8] = []
        for index in 0..<pieces.count {
            let piece = pieces.piece(index)
            let bytes = Int(piece.blocks) * pieces.blockSize
            let buffer = UnsafeMutableRawBufferPointer(rebasing: worker.buffer.bytes[0..<bytes])
            if pieces.direction == .toDevice {
                DataCopy.gather(command.iovecs, from: map, startingAt: piece.byteOffset, into: buffer)
            }
            pieces.cdb(of: index, into: &command.pieceCDB)
            let outcome = adapter.process(SCSITask(lun: lun, cdb: command.pieceCDB, buffer: worker.buffer, transferLength: bytes,
                                                   direction: pieces.direction, tag: UInt64(command.id)), on: worker.queue)
            guard outcome.serviceResponse == .taskComplete else {
                respondUndelivered(command, outcome, what: "piece \(index + 1) of \(pieces.count) of command \(command.id)")
                return true
            }
            guard outcome.status == .good else {
                respond(command.id, RingResponse(status: outcome.status), sense: outcome.sense)
                return true
            }
            if pieces.direction == .fromDevice {
                DataCopy.scatter(bytes, of: UnsafeRawBufferPointer(buffer), into: command.iovecs, startingAt: piece.byteOffset, of: map)
            }
            sense = outcome.sense
        }
        respond(command.id, RingResponse(status: .good), sense: sense)
        return true
    }
}
