import Testing
import TestSupport
@testable import Translation

@Suite struct SenseTests {
    let condition = SenseCondition(.illegalRequest, .invalidFieldInCDB, fieldPointer: FieldPointer(inCDB: true, byte: 1, bit: 5))

    @Test func fixedFormatFieldPointer() {
        // SPC-5 4.4.3: 70h, sense key 5, additional length 0Ah, ASC 24h, SKSV|C/D|BPV|bit 5 = CDh, field 0001h.
        #expect(SenseData.build(condition, descriptorFormat: false)
            == [0x70, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0xCD, 0x00, 0x01])
    }

    @Test func descriptorFormatFieldPointer() {
        // SPC-5 4.4.2: 72h, key, ASC, ASCQ, 3 reserved, additional length 8; then the sense key
        // specific descriptor: type 02h, length 06h, 2 reserved, 3 SKS bytes, 1 reserved.
        #expect(SenseData.build(condition, descriptorFormat: true)
            == [0x72, 0x05, 0x24, 0x00, 0x00, 0x00, 0x00, 0x08, 0x02, 0x06, 0x00, 0x00, 0xCD, 0x00, 0x01, 0x00])
    }

    @Test func informationFieldBothFormats() {
        let miscompare = SenseCondition(.miscompare, .miscompareDuringVerify, information: 0x205)
        // Fixed: VALID bit in byte 0, INFORMATION in bytes 3-6.
        #expect(SenseData.build(miscompare, descriptorFormat: false)
            == [0xF0, 0x00, 0x0E, 0x00, 0x00, 0x02, 0x05, 0x0A, 0, 0, 0, 0, 0x1D, 0x00, 0, 0, 0, 0])
        // Descriptor: Information descriptor 00h, length 0Ah, VALID, reserved, 8-byte INFORMATION.
        #expect(SenseData.build(miscompare, descriptorFormat: true)
            == [0x72, 0x0E, 0x1D, 0x00, 0, 0, 0, 0x0C, 0x00, 0x0A, 0x80, 0x00, 0, 0, 0, 0, 0, 0, 0x02, 0x05])
    }

    @Test func deferredResponseCodes() {
        let deferred = SenseCondition(.mediumError, .peripheralDeviceWriteFault, deferred: true)
        #expect(SenseData.build(deferred, descriptorFormat: false)[0] == 0x71)
        #expect(SenseData.build(deferred, descriptorFormat: true)[0] == 0x73)
    }

    @Test func parameterListPointerHasNoCDBBit() {
        let pointer = SenseCondition.invalidParameter(byte: 0x102)
        #expect(SenseData.build(pointer, descriptorFormat: false) == invalidParameter(byte: 0x102))
        #expect(Array(SenseData.build(pointer, descriptorFormat: false)[15...]) == [0x80, 0x01, 0x02])
    }

    @Test func decoderRoundTrips() {
        let conditions = [condition, SenseCondition(.miscompare, .miscompareDuringVerify, information: 77),
                          SenseCondition(.unitAttention, .powerOnReset, deferred: true),
                          SenseCondition.invalidParameter(byte: 9, bit: nil)]
        for original in conditions {
            for descriptor in [false, true] {
                let decoded = DecodedSense(SenseData.build(original, descriptorFormat: descriptor))
                #expect(decoded?.condition == original)
                #expect(decoded?.descriptorFormat == descriptor)
            }
        }
        #expect(DecodedSense([]) == nil)
        #expect(DecodedSense([0x70, 0, 5]) == nil)
        #expect(DecodedSense([0x05, 0, 0, 0, 0, 0, 0, 0]) == nil)
    }

    @Test func names() {
        #expect(SenseKey.illegalRequest.description == "ILLEGAL REQUEST")
        #expect(AdditionalSense.lbaOutOfRange.description == "LOGICAL BLOCK ADDRESS OUT OF RANGE")
        #expect(AdditionalSense(0x5D, 0x10).description == "ASC 5Dh ASCQ 10h")
        #expect(DecodedSense(SenseData.build(condition, descriptorFormat: false))?.description
            == "ILLEGAL REQUEST: INVALID FIELD IN CDB (24h/00h), CDB byte 1 bit 5")
    }
}
