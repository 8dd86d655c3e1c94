import ArgumentParser
import MockNVMe

/// The mock's geometry, from `--mock-*` options.
struct MockGeometry: Equatable, Sendable {
    var namespaces = 1
    /// 1 GiB of 512-byte blocks; storage is sparse, so size costs nothing until written.
    var blocks: UInt64 = 1 << 21
    var blockSize = 512
    var volatileWriteCache = true
    /// Namespace 1's NGUID (16 bytes); namespace n gets it with n - 1 added to the last byte.
    var nguid: [UInt8]?
    /// Namespace 1's EUI-64 (8 bytes); namespace n gets it with n - 1 added to the last byte.
    var eui64: [UInt8]?
    /// MDTS (2^n minimum pages per command, 0 unlimited); nil keeps the mock's own (5: 128 KiB).
    var mdts: UInt8?

    /// The configuration for `MockController`, checked first: the mock stops the process on a
    /// geometry it cannot model, and a command-line typo deserves a message instead.
    func configuration() throws(ScsiToolError) -> MockConfiguration {
        guard (1...64).contains(namespaces) else { throw .usage("--mock-namespaces \(namespaces): choose 1 to 64") }
        guard blocks > 0 else { throw .usage("--mock-blocks 0: a namespace needs at least one block") }
        guard blockSize == 512 || blockSize == 4096 else {
            throw .usage("--mock-block-size \(blockSize): the mock models 512 or 4096-byte blocks")
        }
        if let nguid, nguid.count != 16 || nguid.allSatisfy({ $0 == 0 }) {
            throw .usage("--mock-nguid: an NGUID is 16 bytes (32 hex digits), not all zero; got \(nguid.count) byte(s)")
        }
        if let eui64, eui64.count != 8 || eui64.allSatisfy({ $0 == 0 }) {
            throw .usage("--mock-eui64: an EUI-64 is 8 bytes (16 hex digits), not all zero; got \(eui64.count) byte(s)")
        }
        var configuration = MockConfiguration()
        if let mdts {
            // 12 + MPSMIN (0) + MDTS <= 32: the mock models at most 4 GiB per command.
            guard mdts <= 20 else { throw .usage("--mock-mdts \(mdts): choose 0 (no limit) to 20 (4 GiB per command)") }
            configuration.mdts = mdts
        }
        configuration.namespaces = (0..<namespaces).map { index in
            MockNamespace(blockCount: blocks, blockSize: blockSize,
                          nguid: nguid.map { Self.numbered($0, index) }, eui64: eui64.map { Self.numbered($0, index) })
        }
        configuration.volatileWriteCache = volatileWriteCache
        return configuration
    }

    /// `identifier` with `index` added to its last byte, so each namespace's identifier is unique.
    static func numbered(_ identifier: [UInt8], _ index: Int) -> [UInt8] {
        var copy = identifier
        copy[copy.count - 1] &+= UInt8(truncatingIfNeeded: index)
        return copy
    }
}

/// The `--mock-*` options of the subcommands that build a mock for the run (scsi, info, explain).
struct MockOptions: ParsableArguments {
    @Option(help: "Mock: number of namespaces (LUNs).")
    var mockNamespaces = 1

    @Option(help: "Mock: blocks per namespace (default: 1 GiB worth).")
    var mockBlocks: UInt64?

    @Option(help: ArgumentHelp("Mock: capacity per namespace in bytes (k/m/g/t suffixes), instead of --mock-blocks.",
                               valueName: "bytes"))
    var mockCapacity: SizeArgument?

    @Option(help: ArgumentHelp("Mock: logical block size.", valueName: "512|4096"))
    var mockBlockSize = 512

    @Flag(help: "Mock: no volatile write cache (Identify Controller VWC bit 0 clear).")
    var mockNoWriteCache = false

    @Option(help: ArgumentHelp("Mock: NGUID of namespace 1, 32 hex digits (namespace n: last byte + n - 1).", valueName: "hex"))
    var mockNguid: String?

    @Option(help: ArgumentHelp("Mock: EUI-64 of namespace 1, 16 hex digits (namespace n: last byte + n - 1).", valueName: "hex"))
    var mockEui64: String?

    @Option(help: ArgumentHelp("Mock: MDTS, the largest command as 2^n 4 KiB pages (default 5: 128 KiB; 7: 512 KiB; 0: no limit).",
                               valueName: "n"))
    var mockMdts: UInt8?

    /// The geometry these options describe.
    func geometry() throws(ScsiToolError) -> MockGeometry {
        if mockBlocks != nil, mockCapacity != nil {
            throw .usage("--mock-blocks and --mock-capacity both given: choose one")
        }
        var geometry = MockGeometry(namespaces: mockNamespaces, blockSize: mockBlockSize,
                                    volatileWriteCache: !mockNoWriteCache, mdts: mockMdts)
        if let mockBlocks { geometry.blocks = mockBlocks }
        if let mockCapacity {
            guard mockCapacity.value > 0, mockCapacity.value % mockBlockSize == 0 else {
                throw .usage("--mock-capacity \(mockCapacity.value): a positive multiple of the \(mockBlockSize)-byte block")
            }
            geometry.blocks = UInt64(mockCapacity.value / mockBlockSize)
        }
        geometry.nguid = try mockNguid.map { text throws(ScsiToolError) in try HexParser.bytes([text], what: "--mock-nguid") }
        geometry.eui64 = try mockEui64.map { text throws(ScsiToolError) in try HexParser.bytes([text], what: "--mock-eui64") }
        return geometry
    }
}
