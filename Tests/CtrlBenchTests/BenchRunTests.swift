import Foundation
import Synchronization
import Testing
@testable import ctrlbench

/// `bench` end to end on the mock, in process.
@Suite struct BenchRunTests {
    static func run(_ arguments: [String], control: RunControl = RunControl()) throws -> BenchReport {
        try Bench.parse(arguments).measure(control: control)
    }

    static func json(_ report: BenchReport) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(report.jsonText.utf8)) as? [String: Any])
    }

    /// Issue 11, item 3: four queue pairs asked of a controller that grants three ran three
    /// jobs without a word. Now the output and the JSON say so.
    @Test func fewerQueuePairsGrantedIsSaid() throws {
        let report = try Self.run(["--numjobs", "4", "--mock-queues", "3", "--number_ios", "200"])
        #expect(report.setup.jobsRequested == 4 && report.setup.queuePairsGranted == 3)
        #expect(report.jobs.count == 3 && report.group.ios == 600)
        #expect(report.text.contains("queue pairs   4 requested, 3 granted"))
        #expect(report.text.contains("note: asked for 4 queue pairs (--numjobs); the controller granted 3, so 3 job(s) ran"))
        let ours = try #require(try Self.json(report)["ctrlbench"] as? [String: Any])
        let pairs = try #require(ours["queue_pairs"] as? [String: Any])
        #expect(pairs["requested"] as? Int == 4 && pairs["granted"] as? Int == 3)
        #expect((ours["notes"] as? [String])?.first?.contains("granted 3") == true)
    }

    /// Doorbells per I/O: the inline null mock completes each batch of 32 at its doorbell, so every
    /// 32 I/Os cost one SQ tail and one CQ head write; the mock counts the MMIO writes it received
    /// and the loop the updates it asked for, and both say 2/32.
    @Test func doorbellWritesPerIO() throws {
        let report = try Self.run(["--rw", "read", "--iodepth", "32", "--number_ios", "3200"])
        #expect(report.mmioDoorbellWritesPerIO == 2.0 / 32)
        #expect(BenchReport.doorbellUpdatesPerIO(report.group) == 2.0 / 32)
        let ours = try #require(try Self.json(report)["ctrlbench"] as? [String: Any])
        #expect(ours["mmio_doorbell_writes_per_io"] as? Double == 0.0625)
    }

    /// Issue 12, defect 7: a namespace other than the first.
    @Test func theNamespaceIsChosen() throws {
        let report = try Self.run(["--mock-namespaces", "3", "--namespace", "2", "--number_ios", "10"])
        #expect(report.setup.nsid == 2 && report.group.ios == 10 && report.group.failures == 0)
        #expect(report.text.contains("namespace 2 (512-byte blocks)"))
        do {
            _ = try Self.run(["--mock-namespaces", "2", "--namespace", "3", "--number_ios", "1"])
            Issue.record("namespace 3 of 2 was accepted")
        } catch let error as ScsiToolError {
            #expect(error.description == "--namespace 3: no such active namespace; active: 1, 2")
        }
    }

    /// Issue 12, defect 7: above one command (128 KiB on the mock) the block path takes the I/O and
    /// the breaker splits it; every byte arrives where it should (written, read back, checked).
    @Test(arguments: ["block", "scsi"])
    func anIOAboveOneCommandGoesThroughTheBreaker(_ path: String) throws {
        let report = try Self.run(["--path", path, "--rw", "write", "--bs", "1m", "--size", "8m", "--number_ios", "8",
                                   "--verify", "crc32c"])
        #expect(report.setup.path.rawValue == path && report.setup.ioBytes == 1 << 20)
        #expect(report.group.write.ios == 8 && report.group.write.bytes == 8 << 20)
        #expect(report.group.failures == 0, "\(report.group.firstFailure ?? "")")
        #expect(report.group.verifiedBlocks == 8 * 2048 && report.group.verifyMismatches == 0)
    }

    @Test func aLargeBsChoosesTheBlockPathAndRawRefusesIt() throws {
        let report = try Self.run(["--bs", "512k", "--number_ios", "4"])
        #expect(report.setup.path == .block && report.group.read.ios == 4)
        #expect(throws: ScsiToolError.usage("--bs 524288 with --path raw: one command carries 512 to 131072 bytes on this "
                                            + "controller (MDTS); --path block lets the request breaker split larger I/Os")) {
            try Self.run(["--bs", "512k", "--path", "raw", "--number_ios", "4"])
        }
        #expect(throws: ScsiToolError.self) { try Self.run(["--bs", "512k", "--iodepth", "8", "--number_ios", "4"]) }
    }

    /// `--bs 1g` is one request of 1 GiB per I/O (the null mock discards the data).
    @Test func oneGibibyteRequests() throws {
        let report = try Self.run(["--bs", "1g", "--number_ios", "2", "--rw", "read"])
        #expect(report.setup.path == .block && report.group.read.ios == 2 && report.group.read.bytes == 2 << 30)
        #expect(report.group.failures == 0, "\(report.group.firstFailure ?? "")")
    }

    /// `--verify`: data written by the run is read back and checked; a read of data that was never
    /// written (the fresh mock holds zeros) is a mismatch reported with its LBA, and exit status 2.
    @Test func verifyCatchesAMismatchWithItsLBA() throws {
        let report = try Self.run(["--rw", "read", "--verify", "pattern", "--offset", "4k", "--number_ios", "1", "--iodepth", "1"])
        #expect(report.group.verifyMismatches == 1 && !report.succeeded)
        #expect(report.group.firstMismatch == "verify (pattern): LBA 8 does not hold the data written to it")
        #expect(report.text.contains("LBA 8"))
    }

    /// The corrupting mock (MockNVMe's corruptReadData: each delivered block's first byte
    /// inverted, media intact): written data read back wrong is caught, with the LBA of the first
    /// bad block, on every path, and the run exits 2.
    @Test(arguments: [("raw", "crc32c"), ("raw", "pattern"), ("block", "crc32c"), ("scsi", "pattern")])
    func verifyCatchesDataCorruptedOnTheWayBack(_ path: String, _ mode: String) throws {
        let report = try Self.run(["--path", path, "--rw", "write", "--iodepth", "1", "--size", "64k", "--number_ios", "16",
                                   "--verify", mode, "--mock-corrupt-reads", "40"])
        #expect(report.group.failures == 0 && report.group.write.ios == 16)
        #expect(report.group.verifyMismatches == 1, "only the read-back of LBAs 40-47 is corrupted")
        #expect(report.group.firstMismatch == "verify (\(mode)): LBA 40 does not hold the data written to it")
        #expect(!report.succeeded)
        let clean = try Self.run(["--path", path, "--rw", "write", "--iodepth", "1", "--size", "64k", "--number_ios", "16",
                                  "--verify", mode])
        #expect(clean.group.verifyMismatches == 0 && clean.group.verifiedBlocks == 16 * 8)
    }

    @Test(arguments: ["crc32c", "pattern"])
    func verifyPassesOnDataTheRunWrote(_ mode: String) throws {
        let report = try Self.run(["--rw", "randrw", "--verify", mode, "--size", "256k", "--number_ios", "2000"])
        #expect(report.group.failures == 0 && report.group.verifyMismatches == 0 && report.succeeded)
        #expect(report.group.verifiedBlocks > 0 && report.group.write.ios > 0 && report.group.read.ios > 0)
    }

    /// `--size` and `--offset` bound the region: 100 sequential writes of 4 KiB in a 64 KiB region
    /// wrap around its 16 units, so the read-back checks exactly 16 x 8 blocks, all in place.
    @Test func sizeAndOffsetBoundTheRegion() throws {
        let report = try Self.run(["--rw", "write", "--size", "64k", "--offset", "1m", "--number_ios", "100", "--verify", "pattern"])
        #expect(report.setup.regionOffset == 1 << 20 && report.setup.regionBytes == 64 << 10)
        #expect(report.group.write.ios == 100 && report.group.verifiedBlocks == 16 * 8 && report.group.verifyMismatches == 0)
        #expect(throws: ScsiToolError.self) { try Self.run(["--size", "2g", "--number_ios", "1"]) }
        #expect(throws: ScsiToolError.self) { try Self.run(["--offset", "1000", "--number_ios", "1"]) }
    }

    /// `--cpus_allowed`: a job's thread runs on the CPU it was given.
    @Test func pinningSetsTheThreadsAffinity() throws {
        let allowed = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            let pinned = BenchJobs.pin(to: 0)
            let status = (try? String(contentsOfFile: "/proc/thread-self/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }
            allowed.withLock { $0 = pinned ? line.map { String($0.split(separator: "\t").last ?? "") } : "refused" }
            done.signal()
        }.start()
        done.wait()
        #expect(allowed.withLock { $0 } == "0")
    }

    @Test func rwmixreadSetsTheShareOfReads() throws {
        let report = try Self.run(["--rw", "randrw", "--rwmixread", "70", "--number_ios", "20000"])
        let share = Double(report.group.read.ios) / Double(report.group.ios)
        #expect(report.group.ios == 20000 && abs(share - 0.7) < 0.03, "\(share)")
    }

    /// Ctrl-C (a stop request): the run ends early, in-flight commands complete, partial results.
    @Test func aStopRequestGivesPartialResults() throws {
        let control = RunControl()
        // Late enough that both jobs have started and completed I/Os even on a loaded machine
        // (a stop before the first pass may rightly end a job with none).
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(2)) { control.requestStop() }
        let start = Date()
        let report = try Self.run(["--runtime", "60s", "--numjobs", "2"], control: control)
        #expect(Date().timeIntervalSince(start) < 30)
        #expect(report.group.interrupted && report.group.ios > 0 && report.group.failures == 0)
        #expect(report.text.contains("stopped early by Ctrl-C"))
    }
}
