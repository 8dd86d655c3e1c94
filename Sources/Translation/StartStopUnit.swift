/// START STOP UNIT (SBC-4 5.25; Reference 1.5 "START STOP UNIT"): a power condition becomes Set
/// Features, Power Management (FID 02h) with a power state picked from NPSS, preceded by a Flush
/// unless NO_FLUSH is set; the stopped state (media access NOT READY) is kept in translation.
///
/// Power states, with L = NPSS (the lowest-power state; NVMe defines NPSS 0's based, where
/// Linux's former scsi.c took NPSS - 1):
///
/// | POWER CONDITION | MODIFIER | power state | unit |
/// | --- | --- | --- | --- |
/// | 0h START_VALID, START=1 | 0h | 0 | started |
/// | 0h START_VALID, START=0 | 0h | L | stopped |
/// | 1h ACTIVE | 0h | 0 | started |
/// | 2h IDLE (idle_a, _b, _c) | 0h, 1h, 2h | 1, 2, 3, at most L - 1 | started |
/// | 3h STANDBY (standby_z, _y) | 0h, 1h | L - 2, L - 1, at least 0 | started |
///
/// Other combinations (LU_CONTROL, FORCE_IDLE_0, FORCE_STANDBY_0, reserved values) are refused
/// as INVALID FIELD IN CDB: they would need timers and policy this driver does not keep. The
/// Flush precedes every transition away from the active condition (SBC-4: cached data is written
/// before a power condition that keeps the medium from being accessed) and none towards it. With
/// one power state (L = 0) there is no Set Features to send. IMMED set means status is due once
/// the CDB is validated, so a failure surfaces as a deferred error.
enum StartStopUnit {
    static func translate(_ request: Request, state: inout LogicalUnitState) throws(SenseCondition) -> TranslationPlan {
        let cdb = request.cdb
        guard request.transferLength == 0 else { throw SenseCondition(.illegalRequest, .invalidFieldInCDB) }
        let immediate = cdb[1] & 0x01 != 0
        let modifier = cdb[3] & 0x0F
        let condition = cdb[4] >> 4
        let noFlush = cdb[4] & 0x04 != 0
        let lowest = Int(request.facts.lowestPowerState)
        let powerState: Int
        switch (condition, modifier) {
        case (0, 0):
            // LOEJ asks to load or eject a medium; an NVMe namespace has none to move.
            if cdb[4] & 0x02 != 0 { throw .invalidCDB(byte: 4, bit: 1) }
            powerState = cdb[4] & 0x01 != 0 ? 0 : lowest
        case (1, 0): powerState = 0
        case (2, 0...2): powerState = min(1 + Int(modifier), max(lowest - 1, 0))
        case (3, 0...1): powerState = max(lowest - 2 + Int(modifier), 0)
        case (0...3, _): throw .invalidCDB(byte: 3, bit: 3)
        default: throw .invalidCDB(byte: 4, bit: 7)
        }
        let stop = condition == 0 && cdb[4] & 0x01 == 0
        let leavingActive = stop || condition >= 2
        let nsid = request.lu.nsid
        var operations: [NVMeOperation] = []
        if leavingActive, !noFlush, request.facts.hasVolatileWriteCache { operations.append(.flush(nsid: nsid)) }
        if lowest > 0 { operations.append(.setPowerState(UInt8(powerState))) }
        guard !operations.isEmpty else {
            state.stopped = stop
            return .respond(request.good())
        }
        return request.execute(operations, immediate: immediate, onSuccess: stop ? .stop : .start)
    }
}
