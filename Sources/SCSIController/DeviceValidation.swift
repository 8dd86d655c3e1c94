import NVMe

/// The checks bring-up makes on the options and on what the device reports before it relies on
/// them: a value that would crash, overrun or hang the driver is refused with a named error
/// (`unusableValue`: the key, the value and the rule), never used.
enum DeviceValidation {
    /// The largest per-command transfer the driver configures, whatever MDTS says: 8 MiB. It
    /// bounds the PRP list pages preallocated per tracker (five 4 KiB pages at 8 MiB) and keeps
    /// an SGL Data Block length far below its 32 bits.
    static let maximumCommandBytesCap = 8 << 20

    /// The namespace IDs scanned one by one on a controller older than NVMe 1.1, which has no
    /// active namespace list: a bound, so a bogus NN cannot stall bring-up.
    static let legacyNamespaceScanLimit: UInt32 = 1024

    /// The bounds on the shutdown wait taken from RTD3E, in milliseconds: RTD3E is a typical
    /// latency, so very small values get a floor, and a bogus huge one must not become a hang.
    static let shutdownBoundRange = 100...60_000

    static func refuse(_ key: String, _ value: some CustomStringConvertible, _ rule: String) -> ControllerError {
        .unusableValue(key: .field(key), value: "\(value)", rule: rule)
    }

    /// The caller's options, before anything touches the device.
    static func check(_ options: ControllerOptions) throws(ControllerError) {
        let page = options.pageSize
        guard page >= 4096, page <= 1 << 27, page & (page - 1) == 0 else {
            throw refuse("ControllerOptions.pageSize", page, "must be a power of two from 4096 to 128 MiB (CC.MPS 0...15)")
        }
        guard CommandLimits.queueCount.contains(options.ioQueueCount) else {
            throw refuse("ControllerOptions.ioQueueCount", options.ioQueueCount,
                         "must be \(CommandLimits.queueCount) (NVMe queue identifiers)")
        }
        guard CommandLimits.ioQueueEntries.contains(options.ioQueueDepth) else {
            throw refuse("ControllerOptions.ioQueueDepth", options.ioQueueDepth, "must be \(CommandLimits.ioQueueEntries) entries")
        }
        guard CommandLimits.adminQueueEntries.contains(options.adminQueueDepth) else {
            throw refuse("ControllerOptions.adminQueueDepth", options.adminQueueDepth,
                         "must be \(CommandLimits.adminQueueEntries) entries (AQA)")
        }
        guard options.commandTimeoutMilliseconds > 0 else {
            throw refuse("ControllerOptions.commandTimeoutMilliseconds", options.commandTimeoutMilliseconds, "must be positive")
        }
        guard options.shutdownTimeoutMilliseconds > 0 else {
            throw refuse("ControllerOptions.shutdownTimeoutMilliseconds", options.shutdownTimeoutMilliseconds, "must be positive")
        }
        guard (4096...maximumCommandBytesCap).contains(options.maximumCommandBytesWhenUnlimited) else {
            throw refuse("ControllerOptions.maximumCommandBytesWhenUnlimited", options.maximumCommandBytesWhenUnlimited,
                         "must be 4096 bytes to \(maximumCommandBytesCap) bytes (the driver's per-command cap)")
        }
    }

    /// CAP, before the admin queue is allocated or the controller enabled.
    static func check(_ cap: ControllerCapabilities, registerSpaceSize: Int) throws(ControllerError) {
        guard cap.mqes >= 1 else {
            throw refuse("CAP.MQES", cap.mqes, "queues need at least 2 entries, so MQES (0's based) must be at least 1")
        }
        guard cap.mpsmin <= cap.mpsmax else {
            throw refuse("CAP.MPSMIN", cap.mpsmin, "must not exceed CAP.MPSMAX (\(cap.mpsmax))")
        }
        guard doorbellsFit(queues: 0, cap: cap, registerSpaceSize: registerSpaceSize) else {
            throw refuse("CAP.DSTRD", cap.dstrd, "the admin queue's doorbells at stride \(4 << Int(cap.dstrd)) bytes end beyond the "
                + "\(registerSpaceSize)-byte register space")
        }
    }

    /// Whether the doorbells of queues 0...`queues` lie inside the register space.
    static func doorbellsFit(queues: Int, cap: ControllerCapabilities, registerSpaceSize: Int) -> Bool {
        ControllerRegister.completionHeadDoorbell(queueID: queues, stride: Int(cap.dstrd)) + 4 <= registerSpaceSize
    }

    /// How many I/O queues (of `wanted`) have their doorbells inside the register space.
    static func queuesWithDoorbells(_ wanted: Int, cap: ControllerCapabilities, registerSpaceSize: Int) throws(ControllerError) -> Int {
        var count = wanted
        while count > 0 && !doorbellsFit(queues: count, cap: cap, registerSpaceSize: registerSpaceSize) { count -= 1 }
        guard count > 0 else {
            throw refuse("CAP.DSTRD", cap.dstrd, "the doorbells of I/O queue 1 at stride \(4 << Int(cap.dstrd)) bytes end "
                + "beyond the \(registerSpaceSize)-byte register space")
        }
        return count
    }

    /// Bytes one command may carry: MDTS (in units of CAP.MPSMIN pages; 0 = no limit, then the
    /// option), capped at `maximumCommandBytesCap`, in whole blocks.
    static func maximumCommandBytes(mdts: UInt8, minimumPageSize: Int, whenUnlimited: Int, blockSize: Int) throws(ControllerError) -> Int {
        let log2Page = minimumPageSize.trailingZeroBitCount
        let limit = mdts == 0 ? whenUnlimited
            : Int(mdts) + log2Page >= maximumCommandBytesCap.trailingZeroBitCount ? maximumCommandBytesCap
            : minimumPageSize << Int(mdts)
        let bytes = min(limit, maximumCommandBytesCap) / blockSize * blockSize
        guard bytes >= blockSize else {
            throw refuse("Identify Controller MDTS", mdts, "allows \(limit) bytes per command, less than one \(blockSize)-byte block")
        }
        return bytes
    }

    /// The shutdown bound: RTD3E (microseconds, Identify Controller bytes 91:88) when reported,
    /// rounded up and kept within `shutdownBoundRange`; otherwise the option.
    static func shutdownMilliseconds(rtd3eMicroseconds: UInt32, option: Int) -> Int {
        guard rtd3eMicroseconds > 0 else { return option }
        let milliseconds = (Int(rtd3eMicroseconds) + 999) / 1000
        return min(max(milliseconds, shutdownBoundRange.lowerBound), shutdownBoundRange.upperBound)
    }

    /// Why a namespace's format cannot be served, or nil.
    static func problem(with identify: IdentifyNamespace, nsid: UInt32) -> ControllerError? {
        let index = identify.formattedLBAIndex
        guard index <= Int(identify.nlbaf), index < identify.lbaFormats.count else {
            return refuse("Identify Namespace \(nsid) FLBAS", identify.flbas,
                          "selects LBA format \(index) but the namespace has \(Int(identify.nlbaf) + 1) (NLBAF \(identify.nlbaf))")
        }
        let format = identify.lbaFormats[index]
        guard (9...16).contains(format.lbaDataSizeShift) else {
            return refuse("Identify Namespace \(nsid) LBAF\(index).LBADS", format.lbaDataSizeShift,
                          "the logical block size 2^LBADS must be 512 bytes to 64 KiB (LBADS 9...16)")
        }
        guard format.metadataSize == 0 else {
            return refuse("Identify Namespace \(nsid) LBAF\(index).MS", format.metadataSize,
                          "formats with metadata are not supported (the driver sends no metadata pointer)")
        }
        return nil
    }
}
