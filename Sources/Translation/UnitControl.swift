/// TEST UNIT READY is answered in the dispatcher; this file holds REQUEST SENSE and
/// START STOP UNIT, the commands about the unit's own condition.
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

    /// START STOP UNIT (SBC-4 5.25; Reference 6.x): stop flushes the volatile write cache unless
    /// NO_FLUSH is set, then shuts the unit down; start brings it back. POWER CONDITION values
    /// other than START_VALID (0h) and ACTIVE (1h) would need NVMe power-state policy this driver
    /// does not have, so they are refused rather than ignored. LOEJ is refused by the usage mask
    /// (no removable medium).
    static func startStopUnit(_ request: Request, state: LogicalUnitState) throws(SenseCondition) -> TranslationPlan {
        try request.expectData(0, .none, field: 4)
        let byte4 = request.cdb[4]
        let powerCondition = byte4 >> 4
        let nsid = request.lu.nsid
        let start: Bool
        switch powerCondition {
        case 0: start = byte4 & 0x01 != 0
        case 1: start = true
        default: throw .invalidCDB(byte: 4, bit: 7)
        }
        if start { return request.execute([.start(nsid: nsid)], onSuccess: .start) }
        var operations: [NVMeOperation] = []
        if byte4 & 0x04 == 0, request.facts.hasVolatileWriteCache { operations.append(.flush(nsid: nsid)) }
        operations.append(.shutdown(nsid: nsid))
        return request.execute(operations, onSuccess: .stop)
    }
}
