import SCSIController
import Testing
@testable import ctrlbench

/// `ctrlbench explain` with the configurations of the forum thread behind this product
/// (DriverKit's UserReportHBAConstraints and UserGetDMASpecification): an incomplete or
/// inconsistent set is refused naming the key, the value and the rule; the KEXT's set plans
/// 10 MiB as 20 commands of 512 KiB on a controller whose MDTS allows 512 KiB.
@Suite struct ExplainCommandTests {
    /// The KEXT's keys: 0x81 segments of 512 KiB, 32 addressable bits, alignment 4.
    static let kextSet = [
        "--kIOMaximumSegmentCountReadKey", "0x81", "--kIOMaximumSegmentCountWriteKey", "0x81",
        "--kIOMaximumSegmentByteCountReadKey", "512k", "--kIOMaximumSegmentByteCountWriteKey", "512k",
        "--kIOMinimumSegmentAlignmentByteCountKey", "4", "--kIOMaximumSegmentAddressableBitCountKey", "32",
        "--kIOMinimumHBADataAlignmentMaskKey", "3", "--dmaAlignment", "4",
    ]
    /// MDTS 7: 2^7 x 4 KiB = 512 KiB per command.
    static let mdts512k = ["--mock-mdts", "7"]

    /// The report, or the refusal's text and exit status.
    static func run(_ arguments: [String]) -> (report: ExplainReport?, error: String?, exitCode: Int32) {
        do {
            let command = try Explain.parse(arguments)
            return (try command.explain(), nil, 0)
        } catch {
            return (nil, CtrlBench.message(for: error), CtrlBench.exitCode(for: error).rawValue)
        }
    }

    @Test func segmentCountsWithoutASegmentByteCountAreRefused() {
        let run = Self.run(["--bytes", "10m", "--kIOMaximumSegmentCountReadKey", "0x81",
                            "--kIOMaximumSegmentCountWriteKey", "0x81"])
        #expect(run.report == nil && run.exitCode != 0)
        let text = run.error ?? ""
        #expect(text.contains("kIOMaximumSegmentByteCountReadKey = missing"))
        #expect(text.contains("all nine keys are required"))
    }

    @Test func aMaxTransferSizeBelowTheSegmentProductIsRefusedNamingIt() {
        for transfer in ["64k", "512k"] {
            let run = Self.run(["--bytes", "10m"] + Self.mdts512k + Self.kextSet + ["--maxTransferSize", transfer])
            #expect(run.report == nil && run.exitCode != 0)
            let text = run.error ?? ""
            let value = transfer == "64k" ? 65536 : 524288
            #expect(text.contains("HBA constraint maxTransferSize = \(value) refused"))
            #expect(text.contains("kIOMaximumSegmentCountReadKey x kIOMaximumSegmentByteCountReadKey = 129 x 524288 = 67633152"))
        }
    }

    @Test func theKEXTSetPlansTenMiBAsTwentyCommandsOf512KiB() throws {
        for pointers in ["prp", "sgl"] {
            let run = Self.run(["--bytes", "10m", "--pointers", pointers] + Self.mdts512k + Self.kextSet
                + ["--maxTransferSize", "67633152"])
            let report = try #require(run.report, "\(run.error ?? "")")
            let plan = report.plan
            #expect(plan.tasks.count == 1 && plan.commands == 20)
            #expect(plan.tasks[0].runs.count == 1)
            let run0 = plan.tasks[0].runs[0]
            #expect(run0.count == 20 && run0.bytes == 524_288 && run0.blocks == 1024)
            // 512 KiB from a page boundary covers 128 pages of 4 KiB: PRP1 names the first, and a
            // PRP list (one page holds 512 entries) the other 127 (NVMe Base 2.0, 4.1.1). An SGL
            // carries the whole range in one Data Block descriptor.
            #expect(run0.pointer == (pointers == "prp" ? .prp(entries: 128, listPages: 1) : .sgl(descriptors: 1)))
            #expect(report.constraints.allSatisfy { $0.source == "overridden" })
            #expect(report.text.contains("pieces 0-19: Read of 524288 bytes (1024 blocks, NLB 1023)"))
        }
    }

    @Test func aRequestAboveTheLargestTransferIsPlannedAsSeveralTasks() throws {
        // 0x81 x 512 KiB = 67633152 bytes a task; 100 MiB = 104857600 bytes is 2 tasks.
        let run = Self.run(["--bytes", "100m", "--write"] + Self.mdts512k + Self.kextSet + ["--maxTransferSize", "67633152"])
        let plan = try #require(run.report?.plan, "\(run.error ?? "")")
        #expect(plan.write && plan.tasks.map(\.bytes) == [67_633_152, 104_857_600 - 67_633_152])
        #expect(plan.tasks[0].commands == 129 && plan.commands == 200)
    }

    @Test func thirtyTwoAddressableBitsKeepEveryIOVABelowFourGiB() throws {
        let command = try Explain.parse(["--bytes", "512"] + Self.mdts512k + Self.kextSet + ["--maxTransferSize", "67633152"])
        let session = try ScsiSession(.mock(try command.mock.geometry())) { command.constraints.apply(to: &$0) }
        let limit: UInt64 = 1 << 32
        #expect(session.controller.mapper.iovaRanges.allSatisfy { $0.last < limit })
        var buffers = [try session.controller.mapper.allocate(length: 67_633_152)]
        for _ in 0..<16 { buffers.append(try session.controller.mapper.allocate(length: 3 << 20)) }
        for buffer in buffers { #expect(buffer.iova + UInt64(buffer.length) <= limit) }
    }

    @Test func prpListsChainAcrossListPages() throws {
        // 4 MiB from a page boundary: 1024 pages; PRP1 + 1023 list entries; a 4 KiB list page has
        // 512 slots, the last of which chains on when entries remain: 511 + 512 = 2 list pages.
        let limits = HBAConstraints.ControllerLimits(maximumCommandBytes: 4 << 20, blockSize: 512, iovaBits: 48)
        let plan = try TransferPlan.plan(bytes: 4 << 20, write: false, constraints: .derived(from: limits), blockSize: 512,
                                         pageSize: 4096, usesSGL: false)
        #expect(plan.tasks[0].runs.map(\.pointer) == [.prp(entries: 1024, listPages: 2)])
        // 8 KiB starting 512 bytes into a page touches 3 pages: PRP2 is then a list of 2 entries.
        let small = try TransferPlan.plan(bytes: 8192, write: false, constraints: .derived(from: limits), blockSize: 512,
                                          pageSize: 4096, usesSGL: false, bufferIOVA: (1 << 30) + 512)
        #expect(small.tasks[0].runs.map(\.pointer) == [.prp(entries: 3, listPages: 1)])
        let twoPages = try TransferPlan.plan(bytes: 8192, write: false, constraints: .derived(from: limits), blockSize: 512,
                                             pageSize: 4096, usesSGL: false)
        #expect(twoPages.tasks[0].runs.map(\.pointer) == [.prp(entries: 2, listPages: 0)])
    }

    @Test func aPieceNeverExceedsWhatNLBCanCount() throws {
        // 64 MiB segments of 512-byte blocks would be 131072 blocks; NLB counts at most 65536.
        let limits = HBAConstraints.ControllerLimits(maximumCommandBytes: 64 << 20, blockSize: 512, iovaBits: 48)
        let plan = try TransferPlan.plan(bytes: 64 << 20, write: true, constraints: .derived(from: limits), blockSize: 512,
                                         pageSize: 4096, usesSGL: true)
        #expect(plan.commands == 2 && plan.largestPiece == 65536 * 512)
    }

    @Test func aSizeThatIsNotWholeBlocksIsRefused() {
        let run = Self.run(["--bytes", "1000"])
        #expect(run.exitCode == 1 && run.error?.contains("not a positive multiple of the 512-byte logical block") == true)
    }
}
