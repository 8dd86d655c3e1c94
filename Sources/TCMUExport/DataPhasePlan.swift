import Translation

/// How one command's data phase runs when the ring's iovecs and the CDB disagree on its length.
///
/// LIO hands a user backstore every command with iovecs sized to the initiator's expected
/// transfer length (iSCSI's Expected Data Transfer Length, EDTL), and does not compare it with
/// the CDB first: target_core_user parses CDBs in passthrough mode, so the size check LIO's own
/// backstores get (target_cmd_size_check) never runs. SAM-5 lets the two lengths differ and
/// leaves the outcome to the transport; RFC 7143 11.4.5.1 reports it as a residual: an underflow
/// when the CDB moved less than the EDTL, an overflow when it asked for more. The CDB, not the
/// iovecs, decides what the command does, so the task runs in a DMA buffer of the CDB's length
/// (bounded by the preallocated one) and the iovecs get what fits:
///
/// - data-in: the command runs in full and the first min(iovecs, transferred) bytes are copied
///   out. Fewer bytes than the iovecs hold travel as read_len, which LIO turns into an underflow
///   residual (`readLength`); the iovecs past them are zeroed, so no older command's bytes in the
///   data area can reach the initiator. More than the iovecs hold is an overflow the TCMU
///   response has no field for: the initiator gets the bytes it asked for, with GOOD.
/// - data-out of a command whose data is logical blocks (WRITE, WRITE AND VERIFY, COMPARE AND
///   WRITE: `DataPhase.writesBlocks`), iovecs of any other length than the CDB's: nothing runs
///   (an initiator that sends other blocks than its CDB names has lost track of what it writes).
///   LIO answers such a command the same way for its own backstores (target_cmd_size_check).
/// - other data-out (parameter lists, WRITE SAME's block), iovecs at least the CDB's length: the
///   command runs with the first bytes it asks for; the rest was never requested (an underflow,
///   which TCMU cannot report for data-out). Shorter: nothing runs.
/// - a command whose data does not fit the buffer, and is not run in pieces (`BlockPieces`): it
///   runs in the whole buffer, shorter than the CDB's length, for translation to refuse (INVALID
///   FIELD IN CDB, unless an earlier check answers first); data-out is then not gathered.
/// - a command translation does not carry out (no length known): the iovecs as they are, in the
///   direction of the opcode table; translation refuses the command before touching the buffer.
///
/// What does not run is answered as the engine answers a task whose data-out buffer does not
/// match its CDB: CHECK CONDITION, ILLEGAL REQUEST, INVALID FIELD IN CDB, the field pointer at the
/// length field (`SenseCondition.invalidDataBuffer`). LIO's own backstores got the same answer
/// until LIO moved data CDBs to INVALID FIELD IN COMMAND INFORMATION UNIT, which libiscsi's
/// COMPARE AND WRITE test does not accept (it sends 0 blocks with 256 blocks of data).
struct DataPhasePlan: Sendable, Equatable {
    /// The task's direction.
    var direction: DataDirection
    /// The task's transfer length: the bytes of the DMA buffer the command runs in.
    var runLength: Int
    /// Data-out bytes gathered from the iovecs into the buffer before the command runs.
    var gather: Int
    /// The data-out iovecs do not fit the CDB: answer INVALID FIELD IN CDB without running it.
    var refused: Bool

    /// The plan for a command whose CDB describes `phase`, with `given` bytes of iovecs and a
    /// DMA buffer of `capacity` bytes.
    init(phase: DataPhase, given: Int, capacity: Int) {
        refused = false
        gather = 0
        guard let length = phase.length else {
            direction = given > 0 ? phase.direction : .none
            runLength = direction == .none ? 0 : min(given, capacity)
            if direction == .toDevice { gather = runLength }
            return
        }
        direction = phase.direction
        if phase.writesBlocks, given != length {
            refused = true
            runLength = 0
            return
        }
        switch phase.direction {
        case .none:
            runLength = 0
        case .fromDevice:
            // Above the buffer, and not run in pieces (`BlockPieces`), the command cannot run in
            // full: translation refuses a data-in buffer shorter than the CDB's length (INVALID
            // FIELD IN CDB, unless an earlier check such as the range answers first).
            runLength = min(length, capacity)
        case .toDevice:
            if given < length {
                refused = true
                runLength = 0
            } else if length > capacity {
                // Not run in pieces (`BlockPieces`): translation is to refuse it, in SAM-5's order
                // (a unit attention or an LBA out of range before the length), and it does so for
                // a data-out buffer shorter than the CDB's length before reading it.
                runLength = capacity
            } else {
                runLength = length
                gather = length
            }
        }
    }

    /// Data-in bytes copied out to `given` bytes of iovecs after the command moved `transferred`.
    func scattered(transferred: Int, given: Int) -> Int {
        direction == .fromDevice ? max(0, min(transferred, given, runLength)) : 0
    }
}
