import DMAMapper
import Synchronization
import Translation

/// Per-LUN state (D_SENSE, unit attentions, deferred errors, stopped) shared by every thread
/// that sends tasks, with the controller reset count it has seen. WCE is not here: the
/// controller owns it (`NVMeController.volatileWriteCacheEnabled`), for every LUN at once.
///
/// Each state transition happens in one critical section together with the reads it depends
/// on: `translate` and `complete` run on the locked state itself (both are pure and bounded; the
/// I/O between them runs unlocked), so a unit attention is reported exactly once, and a
/// MODE SELECT or START STOP UNIT cannot be undone by a task that read the state before it.
///
/// The READ/WRITE fast path takes no lock: `isClear` reads `attention`, one bit per LUN (LUNs
/// from 63 on share the last) set while the unit has something to report or is stopped, and
/// the reset count last seen. Both are stored under the lock, `attention` first, so a task that
/// sees the new reset count also sees the unit attentions it raised.
final class UnitStateTable: Sendable {
    private let states: SanitizedMutex<[LogicalUnitState]>
    private let attention = Atomic<UInt64>(0)
    private let resetsSeen: Atomic<Int>

    /// Freshly attached units, each with a POWER ON RESET unit attention to report.
    init(facts: DeviceFacts, resetCount: Int) {
        let units = facts.luns.map { _ in LogicalUnitState.attached }
        attention.store(Self.mask(units), ordering: .releasing)
        resetsSeen = Atomic(resetCount)
        states = SanitizedMutex(units)
    }

    /// Whether a READ/WRITE to `lun` may skip translation's state checks: nothing to report,
    /// not stopped, and no controller reset since the units last saw one.
    @inline(__always)
    func isClear(_ lun: UInt64, resetCount: Int) -> Bool {
        resetsSeen.load(ordering: .acquiring) == resetCount && attention.load(ordering: .acquiring) & Self.bit(lun) == 0
    }

    /// Runs `body` on the unit's state under the lock. A controller reset since the last call
    /// first gives every unit a POWER ON RESET unit attention (SPC-5: initiators learn that
    /// state they cached may be gone). An absent LUN gets a scratch state that is not kept.
    func update<Result: Sendable>(_ lun: UInt64, resetCount: Int, _ body: (inout LogicalUnitState) -> Result) -> Result {
        withUnits(resetCount: resetCount) { units in
            guard lun < UInt64(units.count) else {
                var scratch = LogicalUnitState()
                return body(&scratch)
            }
            return body(&units[Int(lun)])
        }
    }

    /// `update` for `Translation.complete`: the response's unit attention for the other LUNs (a
    /// shared mode parameter changed) is established on each of them in the same critical
    /// section as the issuing unit's own state change.
    func complete(_ lun: UInt64, resetCount: Int, _ body: (inout LogicalUnitState) -> SCSIResponse) -> SCSIResponse {
        withUnits(resetCount: resetCount) { units in
            guard lun < UInt64(units.count) else {
                var scratch = LogicalUnitState()
                return body(&scratch)
            }
            let response = body(&units[Int(lun)])
            if let attention = response.unitAttentionForOtherLUNs {
                for index in units.indices where index != Int(lun) { units[index].establish(attention) }
            }
            return response
        }
    }

    /// Runs `body` on every unit under the lock, after a reset's unit attentions, and publishes
    /// the attention bits (and the reset count seen) before the lock is released.
    private func withUnits<Result: Sendable>(resetCount: Int, _ body: (inout [LogicalUnitState]) -> Result) -> Result {
        states.withLock { units in
            let reset = resetsSeen.load(ordering: .relaxed) != resetCount
            if reset {
                for index in units.indices { units[index].pendingUnitAttention = .powerOnReset }
            }
            let result = body(&units)
            attention.store(Self.mask(units), ordering: .releasing)
            if reset { resetsSeen.store(resetCount, ordering: .releasing) }
            return result
        }
    }

    private static func bit(_ lun: UInt64) -> UInt64 { 1 << min(lun, 63) }

    private static func mask(_ units: [LogicalUnitState]) -> UInt64 {
        units.indices.reduce(0) { mask, index in units[index].needsAttention ? mask | bit(UInt64(index)) : mask }
    }
}
