import Foundation
import Testing
import Translation

/// The committed fuzz corpus (Fuzz/corpus), replayed through the fuzz target's own entry
/// (`TranslationFuzzing`), so an input that once broke an invariant fails the unit tests too.
@Suite struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Fuzz/corpus").standardized

    static var inputs: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).sorted()
    }

    @Test func theCorpusIsThere() {
        #expect(Self.inputs.count >= 40, "\(Self.corpus.path)")
    }

    @Test(arguments: inputs)
    func replay(name: String) throws {
        let bytes = try #require(FileManager.default.contents(atPath: Self.corpus.appendingPathComponent(name).path))
        let violation = [UInt8](bytes).withUnsafeBytes { TranslationFuzzing.violation(in: $0) }
        #expect(violation == nil, "\(name)")
    }
}
