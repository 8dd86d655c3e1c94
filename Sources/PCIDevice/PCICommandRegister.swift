/// Byte-addressed access to a PCI function's configuration space: what the command-register
/// logic needs, so it runs against the VFIO config region and against a test's array alike.
public protocol PCIConfigurationSpace {
    /// Reads the little-endian 16-bit register at `offset`.
    func readConfig16(at offset: Int) throws(PCIDeviceError) -> UInt16
    /// Writes the little-endian 16-bit register at `offset`.
    func writeConfig16(_ value: UInt16, at offset: Int) throws(PCIDeviceError)
}

/// The Command register (configuration space offset 04h, PCI Local Bus 3.0 section 6.2.2), as
/// far as a DMA-capable function driven from user space cares.
public struct PCICommandRegister: OptionSet, Sendable, Hashable {
    /// Configuration space offset of the register.
    public static let offset = 0x04

    /// The 16-bit register value.
    public let rawValue: UInt16
    /// Wraps a register value.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Bit 0, I/O Space: respond to I/O-space accesses (NVMe has no I/O BAR it needs).
    public static let ioSpace = PCICommandRegister(rawValue: 1 << 0)
    /// Bit 1, Memory Space: respond to memory-space accesses, so BAR0 registers answer.
    public static let memorySpace = PCICommandRegister(rawValue: 1 << 1)
    /// Bit 2, Bus Master: the function may issue memory requests, i.e. DMA.
    public static let busMaster = PCICommandRegister(rawValue: 1 << 2)
    /// Bit 10, Interrupt Disable: INTx is masked.
    public static let interruptDisable = PCICommandRegister(rawValue: 1 << 10)
}

extension PCIConfigurationSpace {
    /// Sets Memory Space and Bus Master, keeping every other bit: both are off after a reset or
    /// when vfio-pci takes the device, and without them BAR0 does not answer and the controller
    /// cannot reach its queues. Writes only when a bit changes.
    public func enableMemoryAndBusMastering() throws(PCIDeviceError) {
        try updateCommand { $0.union([.memorySpace, .busMaster]) }
    }

    /// Clears Bus Master, keeping every other bit, so a function nobody drives any more cannot DMA.
    public func disableBusMastering() throws(PCIDeviceError) {
        try updateCommand { $0.subtracting(.busMaster) }
    }

    /// The current Command register.
    public func commandRegister() throws(PCIDeviceError) -> PCICommandRegister {
        PCICommandRegister(rawValue: try readConfig16(at: PCICommandRegister.offset))
    }

    private func updateCommand(_ change: (PCICommandRegister) -> PCICommandRegister) throws(PCIDeviceError) {
        let current = try commandRegister()
        let wanted = change(current)
        if wanted != current { try writeConfig16(wanted.rawValue, at: PCICommandRegister.offset) }
    }
}
