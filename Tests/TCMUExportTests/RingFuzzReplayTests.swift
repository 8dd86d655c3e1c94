import Foundation
import RingSupport
import Testing
@testable import TCMUExport

/// The fuzz corpus (Fuzz/tcmu-corpus) replayed through the fuzz target's own invariants, plus
/// seeded random damage to a valid ring: the parser must never trap or accept an iovec outside
/// the data area.
@Suite struct RingFuzzReplayTests {
    @Test func corpusInputsKeepTheInvariants() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz/tcmu-corpus").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(!files.isEmpty)
        for file in files {
            let data = try Data(contentsOf: folder.appendingPathComponent(file))
            let violation = data.withUnsafeBytes { RingFuzzing.violation(in: $0) }
            #expect(violation == nil, "\(file)")
        }
    }

    @Test func randomlyDamagedRingsKeepTheInvariants() {
        var state: UInt64 = 0x5EED
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        for _ in 0..<500 {
            let image = RingImage(ringSize: 1024, dataSize: 16384)
            for id in 0..<4 {
                image.command(id: UInt16(id), cdb: [0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0], iovecs: [(image.dataOffset + id * 4096, 4096)])
            }
            image.publishHead()
            for _ in 0..<8 {
                let offset = Int(next() % UInt64(128 + 1024))
                image.bytes[offset] = UInt8(truncatingIfNeeded: next())
            }
            #expect(RingFuzzing.violation(in: UnsafeRawBufferPointer(image.bytes)) == nil)
        }
    }
}
