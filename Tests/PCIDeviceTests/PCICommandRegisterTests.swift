import Testing
@testable import PCIDevice

/// Configuration space in an array: what VFIO's config region looks like to the command-register
/// logic, with a record of the writes.
final class ConfigSpaceImage: PCIConfigurationSpace {
    var bytes = [UInt8](repeating: 0, count: 256)
    var writes: [(offset: Int, value: UInt16)] = []

    init(command: UInt16) { bytes[4] = UInt8(command & 0xFF); bytes[5] = UInt8(command >> 8) }

    var command: UInt16 { UInt16(bytes[4]) | UInt16(bytes[5]) << 8 }

    func readConfig16(at offset: Int) throws(PCIDeviceError) -> UInt16 {
        UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    func writeConfig16(_ value: UInt16, at offset: Int) throws(PCIDeviceError) {
        writes.append((offset, value))
        bytes[offset] = UInt8(value & 0xFF)
        bytes[offset + 1] = UInt8(value >> 8)
    }
}

/// The Command register (PCI Local Bus 3.0 section 6.2.2): offset 04h; bit 1 Memory Space, bit 2
/// Bus Master, bit 10 Interrupt Disable.
@Suite struct PCICommandRegisterTests {
    @Test func bitPositionsFromThePCISpecification() {
        #expect(PCICommandRegister.offset == 0x04)
        #expect(PCICommandRegister.ioSpace.rawValue == 0x0001)
        #expect(PCICommandRegister.memorySpace.rawValue == 0x0002)
        #expect(PCICommandRegister.busMaster.rawValue == 0x0004)
        #expect(PCICommandRegister.interruptDisable.rawValue == 0x0400)
    }

    @Test func enablingSetsMemoryAndBusMasterAndKeepsTheRest() throws {
        // After vfio-pci takes a device: INTx disabled (bit 10), SERR# enable (bit 8), no decoding.
        let config = ConfigSpaceImage(command: 0x0500)
        try config.enableMemoryAndBusMastering()
        #expect(config.command == 0x0506)
        #expect(config.writes.count == 1 && config.writes[0].offset == 0x04)
        // Already on: nothing is written.
        try config.enableMemoryAndBusMastering()
        #expect(config.writes.count == 1)
    }

    @Test func disablingClearsOnlyBusMaster() throws {
        let config = ConfigSpaceImage(command: 0x0407)
        try config.disableBusMastering()
        #expect(config.command == 0x0403)
        try config.disableBusMastering()
        #expect(config.writes.count == 1)
        #expect(try config.commandRegister() == [.ioSpace, .memorySpace, .interruptDisable])
    }
}
