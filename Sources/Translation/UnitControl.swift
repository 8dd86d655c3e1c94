/// TEST UNIT READY is answered in the dispatcher and START STOP UNIT has a file of its own; this
/// one holds REQUEST SENSE.
enum UnitControl {
    /// REQUEST SENSE (SPC-5 6.39): the sense data a CHECK CONDITION would carry, returned as
    /// parameter data with GOOD status. Reports (and clears) a deferred error, then a unit
    /// attention, then the stopped state, else NO SENSE. DESC picks the format, whatever D_SENSE says.
    static func requestSense(_ request: Request, state: inout LogicalUnitState) -> TranslationPlan {
        let descriptorFormat = request.cdb[1] & 0x01 != 0
        let condition: SenseCondition
        if request.unit == nil {
            condition = .lunNotSupported
        } else if let deferred = state.deferredError {
            condition = deferred
            state.deferredError = nil
        } else if let attention = state.pendingUnitAttention {
            condition = attention
            state.pendingUnitAttention = nil
        } else if state.stopped {
            condition = .stopped
        } else {
            condition = SenseCondition(.noSense, .noAdditionalSense)
        }
        return request.data(SenseData.build(condition, descriptorFormat: descriptorFormat),
                            allocationLength: Int(request.cdb[4]))
    }
}
