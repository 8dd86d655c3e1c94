import ArgumentParser
@testable import ctrlbench

/// What a ctrlbench invocation prints and exits with, run in process: the command's output and
/// status 0, or the message and status ArgumentParser's `main` gives for the error it throws.
struct Invocation {
    var text: String
    var exitCode: Int32

    init(_ arguments: [String]) {
        do {
            let command = try CtrlBench.parseAsRoot(arguments)
            switch command {
            case let list as List: text = try list.output()
            case let bind as Bind: text = try bind.output()
            case let unbind as Unbind: text = try unbind.output()
            default: text = "not a sysfs command: \(arguments)"
            }
            exitCode = 0
        } catch {
            text = CtrlBench.fullMessage(for: error)
            exitCode = CtrlBench.exitCode(for: error).rawValue
        }
    }
}
