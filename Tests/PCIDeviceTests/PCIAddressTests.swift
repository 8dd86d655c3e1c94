import Testing
@testable import PCIDevice

@Suite struct PCIAddressTests {
    @Test(arguments: [
        ("0000:01:00.0", "0000:01:00.0"),
        ("01:00.0", "0000:01:00.0"),
        ("0000:FF:1F.7", "0000:ff:1f.7"),
        ("  0001:0a:1b.3\n", "0001:0a:1b.3"),
        ("10000:00:00.0", "10000:00:00.0"),
        ("0:0:0.0", "0000:00:00.0"),
    ])
    func parsesGoodAddresses(text: String, canonical: String) throws {
        let address = try PCIAddress(parsing: text)
        #expect(address.description == canonical)
        #expect(try PCIAddress(parsing: address.description) == address)
    }

    @Test func exposesParts() throws {
        let address = try PCIAddress(parsing: "0002:3c:1d.6")
        #expect(address.domain == 2 && address.bus == 0x3c && address.device == 0x1d && address.function == 6)
        #expect(try PCIAddress(domain: 2, bus: 0x3c, device: 0x1d, function: 6) == address)
    }

    @Test(arguments: [
        ("", "empty"),
        ("0000:01:00", "'.'"),
        ("0000:01:00.0.1", "'.'"),
        ("01.0", "bus:device"),
        ("0:0000:01:00.0", "bus:device"),
        ("0000:100:00.0", "bus '100'"),
        ("0000:01:20.0", "device 20 is out of range"),
        ("0000:01:00.8", "function 8 is out of range"),
        ("0000:01:00.10", "function '10'"),
        ("0000:0g:00.0", "bus '0g'"),
        ("0000::00.0", "bus is missing"),
        ("0000:01:00.", "function is missing"),
        ("123456789:01:00.0", "domain"),
        ("+1:00.0", "bus '+1'"),
    ])
    func rejectsBadAddresses(text: String, reasonFragment: String) {
        let error = #expect(throws: PCIDeviceError.self) { try PCIAddress(parsing: text) }
        let description = error?.description ?? ""
        #expect(description.contains(reasonFragment), "\(description)")
        #expect(description.contains("dddd:bb:dd.f"))
        #expect(description.contains("'\(text)'"))
    }

    @Test func rejectsOutOfRangeParts() {
        #expect(throws: PCIDeviceError.self) { try PCIAddress(bus: 0, device: 0x20, function: 0) }
        #expect(throws: PCIDeviceError.self) { try PCIAddress(bus: 0, device: 0, function: 8) }
    }

    @Test func ordersByDomainBusDeviceFunction() throws {
        let sorted = try ["0001:00:00.0", "0000:02:00.0", "0000:01:01.0", "0000:01:00.1", "0000:01:00.0"]
            .map { try PCIAddress(parsing: $0) }.sorted().map(\.description)
        #expect(sorted == ["0000:01:00.0", "0000:01:00.1", "0000:01:01.0", "0000:02:00.0", "0001:00:00.0"])
    }
}
