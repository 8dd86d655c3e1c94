// swift-tools-version: 6.1
import PackageDescription

import class Foundation.ProcessInfo

/// Swift 6 language mode with complete concurrency checking for every Swift target.
let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")

let package = Package(
    name: "SwiftNVMe",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "NVMe", targets: ["NVMe"]),
        .library(name: "PCIDevice", targets: ["PCIDevice"]),
        .library(name: "DMAMapper", targets: ["DMAMapper"]),
        .library(name: "MockNVMe", targets: ["MockNVMe"]),
        .library(name: "Translation", targets: ["Translation"]),
        .library(name: "SCSIController", targets: ["SCSIController"]),
        .library(name: "TCMUExport", targets: ["TCMUExport"]),
        .executable(name: "ctrlbench", targets: ["ctrlbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        .target(
            name: "CVFIO",
            linkerSettings: [.linkedLibrary("pci"), .linkedLibrary("numa")]
        ),
        // Hexadecimal formatting (`hex`, `hexDigits`), written once for every module's messages.
        .target(name: "HexFormat", swiftSettings: strict),
        .target(name: "NVMe", dependencies: ["HexFormat"], swiftSettings: strict),
        .target(
            name: "PCIDevice",
            dependencies: ["CVFIO", "HexFormat", logging, .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: strict
        ),
        .target(name: "DMAMapper", dependencies: ["CVFIO", "HexFormat", "PCIDevice", logging], swiftSettings: strict),
        .target(name: "SeededRandom", swiftSettings: strict),
        .target(name: "MockNVMe", dependencies: ["HexFormat", "NVMe", "PCIDevice", "DMAMapper", "SeededRandom", logging], swiftSettings: strict),
        .target(name: "Translation", dependencies: ["HexFormat", "NVMe"], swiftSettings: strict),
        // libFuzzer target for Translation. A plain build replays input files given as arguments;
        // `scripts/fuzz.sh translation` builds it with -sanitize=fuzzer -DFUZZING, where the entry
        // point hands over to libFuzzer's driver.
        // The entry point every fuzz executable shares: libFuzzer's driver or a replay of files.
        .target(name: "FuzzDriver", swiftSettings: strict),
        .executableTarget(name: "TranslationFuzz", dependencies: ["Translation", "NVMe", "FuzzDriver"], swiftSettings: strict),
        .target(
            name: "SCSIController",
            dependencies: ["CVFIO", "HexFormat", "NVMe", "PCIDevice", "DMAMapper", "Translation", logging],
            swiftSettings: strict
        ),
        // linux/target_core_user.h's ring layout (offsets for the tests) and the acquire/release
        // accesses to the mailbox the kernel shares.
        .target(name: "CTCMU"),
        // LIO's user backstore (TCMU) in front of the SCSI host adapter: configfs, the ring, the copies.
        .target(
            name: "TCMUExport",
            dependencies: ["CTCMU", "HexFormat", "SCSIController", "Translation", "DMAMapper", logging],
            swiftSettings: strict
        ),
        // libFuzzer target for the TCMU ring parser, built like TranslationFuzz
        // (`scripts/fuzz.sh tcmu` adds -sanitize=fuzzer -DFUZZING).
        .executableTarget(name: "TCMURingFuzz", dependencies: ["TCMUExport", "FuzzDriver"], swiftSettings: strict),
        .executableTarget(
            name: "ctrlbench",
            dependencies: [
                "HexFormat", "PCIDevice", "NVMe", "DMAMapper", "SCSIController", "MockNVMe", "Translation", "TCMUExport", logging,
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strict
        ),
        // The fake sysfs tree PCIDeviceTests and CtrlBenchTests share (test targets cannot depend on
        // test targets). Foundation only; nothing in Sources uses it.
        .target(name: "FakeSysfs", path: "Tests/Support/FakeSysfs", swiftSettings: strict),
        // CDB and sense builders and test data patterns the SCSI, translation and mock tests share,
        // and a log recorder, each written once. swift-log only; nothing in Sources uses it.
        .target(name: "TestSupport", dependencies: [logging], path: "Tests/Support/TestSupport", swiftSettings: strict),
        // An in-memory TCMU map laid out as the kernel lays it out, the kernel's side of the doorbell,
        // and a ring served by a RingServer over the mock: the TCMU export's tests and the ring
        // server's benchmark share them. Nothing in Sources uses it.
        .target(
            name: "RingSupport",
            dependencies: ["TCMUExport", "CTCMU", "CVFIO", "SCSIController", "MockNVMe", "DMAMapper", logging],
            path: "Tests/Support/RingSupport",
            swiftSettings: strict
        ),
        .testTarget(name: "NVMeTests", dependencies: ["NVMe"], swiftSettings: strict),
        .testTarget(name: "PCIDeviceTests", dependencies: ["PCIDevice", "FakeSysfs"], swiftSettings: strict),
        .testTarget(name: "DMAMapperTests", dependencies: ["DMAMapper", "SeededRandom", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "TranslationTests", dependencies: ["Translation", "NVMe", "SeededRandom", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "MockNVMeTests", dependencies: ["MockNVMe", "DMAMapper", "NVMe", "SeededRandom", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "SCSIControllerTests",
            dependencies: ["SCSIController", "MockNVMe", "NVMe", "DMAMapper", "Translation", "SeededRandom", "TestSupport", logging],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TCMUExportTests",
            dependencies: ["TCMUExport", "CTCMU", "SCSIController", "MockNVMe", "Translation", "DMAMapper", "RingSupport"],
            swiftSettings: strict
        ),
        .testTarget(name: "CtrlBenchTests", dependencies: ["ctrlbench", "FakeSysfs", "HexFormat"], swiftSettings: strict),
    ]
)

// The benchmark target (ordo-one/benchmark with its malloc counting) is only part of the package
// when SWIFTNVME_BENCHMARKS is set, so ordinary builds and the test suite do not build its
// dependencies. scripts/benchmark.sh sets it and uses its own build folder.
if ProcessInfo.processInfo.environment["SWIFTNVME_BENCHMARKS"] != nil {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]))
    package.targets.append(
        .executableTarget(
            name: "DriverBenchmarks",
            dependencies: [
                "SCSIController", "MockNVMe", "NVMe", "DMAMapper", "Translation", "TCMUExport", "RingSupport",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/DriverBenchmarks",
            swiftSettings: strict,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ))
}

// scripts/callgrind.sh's probe: the engine on the null mock driven by the least loop a caller can
// write (the driver alone), and one unbatched block read or SCSI READ(10) at a time. Only part of
// the package when SWIFTNVME_CALLGRIND is set, like the benchmark target above.
if ProcessInfo.processInfo.environment["SWIFTNVME_CALLGRIND"] != nil {
    package.targets.append(
        .executableTarget(
            name: "CallgrindProbe",
            dependencies: ["SCSIController", "MockNVMe", "NVMe", "DMAMapper", logging],
            path: "Benchmarks/CallgrindProbe",
            swiftSettings: strict
        ))
}
