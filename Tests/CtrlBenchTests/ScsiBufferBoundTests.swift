import Testing
@testable import ctrlbench

/// `ctrlbench scsi` bounds the data buffer before allocating it: by the HBA's largest transfer
/// (maxTransferSize) and by what the CDB's own length field can ask for. `--request 4294967296`
/// for a 36-byte INQUIRY once took 28 s and 4.2 GB.
@Suite struct ScsiBufferBoundTests {
    func spec(_ words: [String], request: Int? = nil, send: Int? = nil) throws -> ScsiCommandSpec {
        try ScsiCommandSpec.make(cdbWords: words, lun: 0, request: request, send: send, dataHex: nil, infileBytes: nil)
    }

    func refusal(_ spec: ScsiCommandSpec) -> String? {
        do {
            _ = try Scsi.send(spec, to: .mock(MockGeometry()), clearUnitAttention: true)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func aRequestBeyondMaxTransferSizeIsRefusedNamingIt() throws {
        // The mock's derived constraints: maxTransferSize = 1 GiB.
        let text = try #require(refusal(try spec(["12 00 00 00 24 00"], request: 4_294_967_296)))
        #expect(text.contains("--request 4294967296"))
        #expect(text.contains("maxTransferSize = 1073741824"))
        #expect(text.contains("Give at most 1073741824 bytes"))
    }

    @Test func aRequestBeyondTheAllocationLengthIsRefusedNamingTheField() throws {
        let text = try #require(refusal(try spec(["12 00 00 00 24 00"], request: 4096)))
        #expect(text.contains("the CDB moves at most 36 bytes (ALLOCATION LENGTH (CDB bytes 3-4))"))
        #expect(text.contains("--request 36 or less"))
    }

    @Test func aWriteBeyondItsTransferLengthIsRefusedInBlocks() throws {
        // WRITE(10) of 2 blocks of 512 bytes: 1024 bytes at most.
        let text = try #require(refusal(try spec(["2a 00 00000000 00 0002 00"], send: 4096)))
        #expect(text.contains("--send 4096: the CDB moves at most 1024 bytes"))
        #expect(text.contains("TRANSFER LENGTH (CDB bytes 7-8) x 512-byte blocks"))
    }

    @Test func requestsWithinTheBoundsStillRun() throws {
        let outcome = try Scsi.send(try spec(["12 00 00 00 24 00"], request: 36), to: .mock(MockGeometry()),
                                    clearUnitAttention: true)
        #expect(outcome.status == .good && outcome.dataIn.count == 36)
    }

    @Test func boundsFollowTheSpecsLengthFields() {
        // SPC-5 6.7 INQUIRY: ALLOCATION LENGTH in bytes 3-4; SBC-4 5.3 READ(6): 0 means 256 blocks;
        // SBC-4 5.2 COMPARE AND WRITE: NUMBER OF LOGICAL BLOCKS in byte 13, data-out twice that.
        #expect(CDBDataBound.of([0x12, 0, 0, 0x01, 0x00, 0], blockSize: 512)?.bytes == 256)
        #expect(CDBDataBound.of([0x08, 0, 0, 0, 0, 0], blockSize: 4096)?.bytes == 256 * 4096)
        #expect(CDBDataBound.of([0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0], blockSize: 512)?.bytes == 4096)
        #expect(CDBDataBound.of([0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0], blockSize: 512)?.bytes
            == 0xFFFF_FFFF * 512)
        #expect(CDBDataBound.of([0xC0, 0, 0, 0, 0, 0], blockSize: 512) == nil)
    }
}
