import Testing
@testable import ctrlbench

/// CDB and --data hex parsing, and how the data options combine.
@Suite struct HexParsingTests {
    @Test(arguments: [
        ["12", "00", "00", "00", "24", "00"],
        ["12000000", "2400"],
        ["0x12", "0X00", "0x0000", "24", "00"],
        ["12 00 00 00 24 00"],
        ["1200", "000024", "00"],
    ])
    func spacedJoinedAndPrefixedAreTheSame(words: [String]) throws {
        #expect(try HexParser.bytes(words, what: "CDB") == [0x12, 0, 0, 0, 0x24, 0])
    }

    @Test func caseDoesNotMatter() throws {
        #expect(try HexParser.bytes(["aBcD", "EF"], what: "CDB") == [0xAB, 0xCD, 0xEF])
    }

    @Test(arguments: ["120", "1", "0x", "12g0", "zz", "0x0x12", "+f", "-0", "0x+f", "12-0", "+0+0", "１２"])
    func malformedWordsAreRefused(word: String) {
        #expect(throws: ScsiToolError.self) { try HexParser.bytes([word], what: "CDB") }
    }

    @Test func aSignIsNotAHexDigit() {
        #expect(throws: ScsiToolError.usage("CDB: '+f' is not hex ('+' is not a hex digit)")) {
            try HexParser.bytes(["12", "+f"], what: "CDB")
        }
    }

    @Test func oddDigitCountNamesTheWord() {
        #expect(throws: ScsiToolError.usage(
            "CDB: '120' has an odd number of hex digits (3); write each byte as two digits, e.g. 0a rather than a")) {
            try HexParser.bytes(["12", "120"], what: "CDB")
        }
    }

    @Test func cdbLongerThan16BytesIsRefused() {
        let words = Array(repeating: "00", count: 17)
        #expect(throws: ScsiToolError.usage("CDB is 17 bytes; at most 16 are accepted")) {
            try ScsiCommandSpec.make(cdbWords: words, lun: 0, request: nil, send: nil, dataHex: nil, infileBytes: nil)
        }
        #expect((try? ScsiCommandSpec.make(cdbWords: ["88" + String(repeating: "00", count: 15)], lun: 0,
                                           request: nil, send: nil, dataHex: nil, infileBytes: nil)) != nil)
    }

    @Test func emptyCDBIsRefused() {
        #expect(throws: ScsiToolError.self) {
            try ScsiCommandSpec.make(cdbWords: [], lun: 0, request: nil, send: nil, dataHex: nil, infileBytes: nil)
        }
    }

    @Test func requestAndSendTogetherAreRefused() {
        #expect(throws: ScsiToolError.self) {
            try ScsiCommandSpec.make(cdbWords: ["00"], lun: 0, request: 8, send: 8, dataHex: nil, infileBytes: nil)
        }
        #expect(throws: ScsiToolError.self) {
            try ScsiCommandSpec.make(cdbWords: ["00"], lun: 0, request: 8, send: nil, dataHex: "00", infileBytes: nil)
        }
    }

    @Test func dataOutCombinations() throws {
        let inferred = try ScsiCommandSpec.make(cdbWords: ["2a"], lun: 1, request: nil, send: nil, dataHex: "0102 03",
                                                infileBytes: nil)
        #expect(inferred == ScsiCommandSpec(cdb: [0x2A], lun: 1, direction: .toDevice, length: 3, dataOut: [1, 2, 3]))
        let zeros = try ScsiCommandSpec.make(cdbWords: ["2a"], lun: 0, request: nil, send: 4, dataHex: nil, infileBytes: nil)
        #expect(zeros.dataOut == [0, 0, 0, 0])
        let filePrefix = try ScsiCommandSpec.make(cdbWords: ["2a"], lun: 0, request: nil, send: 2, dataHex: nil,
                                                  infileBytes: [9, 8, 7])
        #expect(filePrefix.dataOut == [9, 8])
        #expect(throws: ScsiToolError.self) {
            try ScsiCommandSpec.make(cdbWords: ["2a"], lun: 0, request: nil, send: 4, dataHex: "0102", infileBytes: nil)
        }
        #expect(throws: ScsiToolError.self) {
            try ScsiCommandSpec.make(cdbWords: ["2a"], lun: 0, request: nil, send: 1, dataHex: "0102", infileBytes: nil)
        }
        #expect(throws: ScsiToolError.self) {
            try ScsiCommandSpec.make(cdbWords: ["2a"], lun: 0, request: nil, send: nil, dataHex: "01", infileBytes: [1])
        }
    }

    @Test func requestZeroMeansNoDataPhase() throws {
        let spec = try ScsiCommandSpec.make(cdbWords: ["00"], lun: 0, request: 0, send: nil, dataHex: nil, infileBytes: nil)
        #expect(spec.direction == .none && spec.length == 0)
    }
}
