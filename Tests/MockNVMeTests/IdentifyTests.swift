import DMAMapper
import MockNVMe
import NVMe
import Testing

/// Identify CNS 03h, the Namespace Identification Descriptor list (NVMe Base 2.0, 5.17.2.3):
/// descriptors of NIDT 01h EUI64 (NIDL 8), 02h NGUID (16), 03h UUID (16), each NIDT, NIDL, two
/// reserved bytes and the identifier, ended by zeros; and Identify Namespace NGUID (bytes
/// 104-119) and EUI64 (bytes 120-127).
@Suite("Namespace identifiers")
struct IdentifyTests {
    static let nguid: [UInt8] = Array(0x10...0x1F)
    static let eui64: [UInt8] = [0x00, 0x25, 0x38, 0xAB, 0xCD, 0xEF, 0x01, 0x23]
    static let uuid: [UInt8] = Array(0xA0...0xAF)

    static func harness() throws -> Harness {
        var configuration = MockConfiguration()
        configuration.namespaces = [
            MockNamespace(blockCount: 1000, nguid: nguid, eui64: eui64, uuid: uuid),
            MockNamespace(blockCount: 1000),
            MockNamespace(blockCount: 1000, nguid: nguid.reversed()),
        ]
        return try Harness(configuration)
    }

    static func bytes(_ buffer: DMABuffer, _ range: Range<Int>) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: buffer.address, count: 4096)[range])
    }

    @Test func descriptorListCarriesEveryIdentifier() throws {
        let harness = try Self.harness()
        let buffer = try harness.allocate(4096)
        buffer.address.initializeMemory(as: UInt8.self, repeating: 0xEE, count: 4096)
        #expect(harness.execute(.identify(.namespaceIdentificationDescriptors, nsid: 1), buffer: buffer).status.isSuccess)
        #expect(Self.bytes(buffer, 0..<4) == [0x01, 8, 0, 0])
        #expect(Self.bytes(buffer, 4..<12) == Self.eui64)
        #expect(Self.bytes(buffer, 12..<16) == [0x02, 16, 0, 0])
        #expect(Self.bytes(buffer, 16..<32) == Self.nguid)
        #expect(Self.bytes(buffer, 32..<36) == [0x03, 16, 0, 0])
        #expect(Self.bytes(buffer, 36..<52) == Self.uuid)
        #expect(Self.bytes(buffer, 52..<4096).allSatisfy { $0 == 0 })

        // No identifiers: the whole list is zeros. Only an NGUID: one descriptor.
        #expect(harness.execute(.identify(.namespaceIdentificationDescriptors, nsid: 2), buffer: buffer).status.isSuccess)
        #expect(Self.bytes(buffer, 0..<4096).allSatisfy { $0 == 0 })
        #expect(harness.execute(.identify(.namespaceIdentificationDescriptors, nsid: 3), buffer: buffer).status.isSuccess)
        #expect(Self.bytes(buffer, 0..<4) == [0x02, 16, 0, 0])
        #expect(Self.bytes(buffer, 4..<20) == Self.nguid.reversed())
        #expect(Self.bytes(buffer, 20..<4096).allSatisfy { $0 == 0 })
    }

    @Test func inactiveOrInvalidNamespaceIsRefused() throws {
        let harness = try Self.harness()
        let buffer = try harness.allocate(4096)
        for nsid: UInt32 in [0, 4, 0xFFFF_FFFF] {
            let status = harness.execute(.identify(.namespaceIdentificationDescriptors, nsid: nsid), buffer: buffer).status
            #expect(status.code == 0x0B && status.type == .generic, "NSID \(nsid)")
        }
    }

    @Test func identifyNamespaceFields() throws {
        let harness = try Self.harness()
        let buffer = try harness.allocate(4096)
        #expect(harness.execute(.identify(.namespace, nsid: 1), buffer: buffer).status.isSuccess)
        #expect(Self.bytes(buffer, 104..<120) == Self.nguid)
        #expect(Self.bytes(buffer, 120..<128) == Self.eui64)
        #expect(harness.execute(.identify(.namespace, nsid: 2), buffer: buffer).status.isSuccess)
        #expect(Self.bytes(buffer, 104..<128).allSatisfy { $0 == 0 })
    }
}
