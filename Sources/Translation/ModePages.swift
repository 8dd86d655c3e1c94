/// The mode pages this device has (SBC-4 6.5, SPC-5 7.5; Reference "Mode Parameters"), built
/// for a page control: current, changeable or default. Saved values are not supported.
enum ModePages {
    enum Control: UInt8 {
        case current = 0, changeable = 1, defaultValues = 2, saved = 3
    }

    static let caching: UInt8 = 0x08
    static let control: UInt8 = 0x0A
    static let all: UInt8 = 0x3F

    /// Caching mode page (08h), 20 bytes: only WCE is meaningful, and changeable only when the
    /// controller has a volatile write cache. The current WCE is the controller's (`Request.writeCacheEnabled`).
    static func cachingPage(_ pc: Control, _ request: Request) -> [UInt8] {
        let facts = request.facts
        var page = [UInt8](repeating: 0, count: 20)
        page[0] = caching
        page[1] = 0x12
        let wce: Bool
        switch pc {
        case .current, .saved: wce = request.writeCacheEnabled
        case .changeable: wce = facts.hasVolatileWriteCache
        case .defaultValues: wce = facts.hasVolatileWriteCache && facts.volatileWriteCacheEnabledAtAttach
        }
        if wce { page[2] |= 0x04 }
        return page
    }

    /// Control mode page (0Ah), 12 bytes: D_SENSE is the one changeable field. GLTSD is set (no
    /// log parameters are saved), QUEUE ALGORITHM MODIFIER is 1 (NVMe reorders freely) and the
    /// BUSY TIMEOUT PERIOD is unlimited.
    static func controlPage(_ pc: Control, state: LogicalUnitState) -> [UInt8] {
        var page = [UInt8](repeating: 0, count: 12)
        page[0] = control
        page[1] = 0x0A
        switch pc {
        case .changeable:
            page[2] = 0x04
        case .current, .saved, .defaultValues:
            page[2] = 0x02 | (pc == .current && state.descriptorSense ? 0x04 : 0)
            page[3] = 0x10
            page[8] = 0xFF
            page[9] = 0xFF
        }
        return page
    }

    /// The pages for a page code, nil when the page is not supported.
    static func pages(_ code: UInt8, _ pc: Control, _ request: Request, state: LogicalUnitState) -> [UInt8]? {
        switch code {
        case caching: cachingPage(pc, request)
        case control: controlPage(pc, state: state)
        case all: cachingPage(pc, request) + controlPage(pc, state: state)
        default: nil
        }
    }
}
