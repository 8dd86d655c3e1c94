import ArgumentParser
import Testing
@testable import ctrlbench

/// Issue 12, defect 2 and the fio spellings: every bad number is refused with the option, the
/// value and the allowed range, and a non-zero exit; good ones mean what they mean in fio.
@Suite struct BenchOptionTests {
    /// The message `bench` refuses these arguments with (nil when it accepts them).
    static func refusal(_ arguments: [String]) -> String? {
        do {
            _ = try Bench.parse(arguments).settings()
            return nil
        } catch let error as ScsiToolError {
            return error.description
        } catch {
            return CtrlBench.fullMessage(for: error)
        }
    }

    @Test(arguments: [["--runtime", "inf"], ["--runtime", "1e11"], ["--runtime", "nan"], ["--runtime", "-1"],
                      ["--runtime", "0"], ["--runtime", "400d"]])
    func runtimeOutOfRangeIsRefusedByName(_ arguments: [String]) throws {
        let message = try #require(Self.refusal(arguments))
        #expect(message.hasPrefix("--runtime \(arguments[1]): "), "\(message)")
        #expect(message.contains("allowed more than 0 and at most 31536000 s"), "\(message)")
        #expect(!message.contains("Missing value"))
    }

    @Test(arguments: [["--ios", "0"], ["--ios", "-3"], ["--number_ios", "0"], ["--number_ios", "-1"]])
    func aZeroOrNegativeIOCountIsRefused(_ arguments: [String]) throws {
        let message = try #require(Self.refusal(arguments))
        #expect(message.hasPrefix("--number_ios \(arguments[1]): out of range; allowed at least 1")
                || message.hasPrefix("--number_ios \(arguments[1]): out of range; allowed 1 to"), "\(message)")
    }

    @Test func iodepthRangeNamesTheOptionNotAnInternalName() throws {
        let message = try #require(Self.refusal(["--iodepth", "100000"]))
        #expect(message == "--iodepth 100000: out of range; allowed 1 to 65535")
        #expect(!message.contains("ControllerOptions"))
        #expect(Self.refusal(["--iodepth", "0"]) == "--iodepth 0: out of range; allowed 1 to 65535")
    }

    @Test func otherRangesNameOptionValueAndRange() {
        #expect(Self.refusal(["--numjobs", "0"]) == "--numjobs 0: out of range; allowed 1 to 4096")
        #expect(Self.refusal(["--queues", "5000"]) == "--numjobs 5000: out of range; allowed 1 to 4096")
        #expect(Self.refusal(["--rwmixread", "101"]) == "--rwmixread 101: out of range; allowed 0 to 100")
        #expect(Self.refusal(["--bs", "100"]) == "--bs 100: out of range; allowed 512 to 1099511627776 bytes")
        #expect(Self.refusal(["--bs", "4x"])?.hasPrefix("--bs 4x: expected a byte count such as 4096, 4k") == true)
        #expect(Self.refusal(["--bs", "99999999999g"]) == "--bs 99999999999g: out of range; allowed 512 to 1099511627776 bytes")
        #expect(Self.refusal(["--namespace", "0"]) == "--namespace 0: out of range; allowed 1 to 4294967294")
        #expect(Self.refusal(["--rw", "trim"]) == "--rw trim: choose one of read, write, randread, randwrite, rw, randrw")
        #expect(Self.refusal(["--percentile_list", "50:101"])?.hasPrefix("--percentile_list 50:101: each entry") == true)
        #expect(Self.refusal(["--verify", "pattern", "--mock-mode", "null"])?.contains("the null mock discards data") == true)
    }

    /// Every refusal leaves with a non-zero status, whether the parser or bench itself refuses.
    @Test(arguments: [["--runtime", "inf"], ["--iodepth", "100000"], ["--ios", "0"], ["--runtime", "-1"],
                      ["--bs", "1000", "--ios", "1"], ["--namespace", "9", "--ios", "1"], ["--rw", "nope"]])
    func refusalsExitNonZero(_ arguments: [String]) {
        do {
            var command = try CtrlBench.parseAsRoot(["bench"] + arguments)
            try command.run()
            Issue.record("\(arguments) ran")
        } catch {
            #expect(CtrlBench.exitCode(for: error).rawValue != 0, "\(arguments): \(error)")
        }
    }

    @Test func fioSizesAndTimes() throws {
        #expect(try BenchValues.bytes("4k", option: "--bs", range: 1...Int.max) == 4096)
        #expect(try BenchValues.bytes("4KiB", option: "--bs", range: 1...Int.max) == 4096)
        #expect(try BenchValues.bytes("1m", option: "--bs", range: 1...Int.max) == 1 << 20)
        #expect(try BenchValues.bytes("1g", option: "--bs", range: 1...Int.max) == 1 << 30)
        #expect(try BenchValues.bytes("65536", option: "--bs", range: 1...Int.max) == 65536)
        #expect(try BenchValues.duration("5", option: "--runtime", maximumSeconds: 100) == 5_000_000_000)
        #expect(try BenchValues.duration("5s", option: "--runtime", maximumSeconds: 100) == 5_000_000_000)
        #expect(try BenchValues.duration("1m", option: "--runtime", maximumSeconds: 100) == 60_000_000_000)
        #expect(try BenchValues.duration("250ms", option: "--runtime", maximumSeconds: 100) == 250_000_000)
        #expect(try BenchValues.percentiles("99.9:50") == [50, 99.9])
        #expect(try BenchValues.cpuList("0-1", available: 2) == [0, 1])
        #expect(throws: ScsiToolError.self) { try BenchValues.cpuList("0-2", available: 2) }
    }

    /// Issue 12, defect 7: `--bs 4k` was refused (the option took digits only).
    @Test func bs4kAndTheOldNamesStillWork() throws {
        let settings = try Bench.parse(["--bs", "4k", "--queues", "2", "--ios", "10", "--json"]).settings()
        #expect(settings.ioBytes == 4096 && settings.jobs == 2 && settings.ioLimit == 10)
        #expect(settings.runtimeNanoseconds == nil, "--ios alone runs to the count, as fio's number_ios")
        let defaults = try Bench.parse([]).settings()
        #expect(defaults.runtimeNanoseconds == 3_000_000_000 && defaults.ioLimit == nil)
        #expect(defaults.workload == .randread && defaults.readPercent == 100)
        let mixed = try Bench.parse(["--rw", "randrw", "--rwmixread", "70"]).settings()
        #expect(mixed.readPercent == 70)
        #expect(try Bench.parse(["--rw", "write", "--rwmixread", "70"]).settings().readPercent == 0)
    }
}
