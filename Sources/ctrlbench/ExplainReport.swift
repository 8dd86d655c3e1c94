import Foundation
import SCSIController

/// What `explain` shows: the controller, the validated constraints and the plan, as text or JSON.
struct ExplainReport: Sendable {
    var device: String
    var model: String
    var maximumCommandBytes: Int
    var constraints: [ConstraintRow]
    var plan: TransferPlan
    /// The key or product that bounds a task.
    var largestTaskRule: String

    var opcode: String { plan.write ? "Write" : "Read" }

    /// Consecutive tasks with the same pieces, as (first, count, task).
    var taskGroups: [(first: Int, count: Int, task: TransferPlan.Task)] {
        var groups: [(first: Int, count: Int, task: TransferPlan.Task)] = []
        for (index, task) in plan.tasks.enumerated() {
            if let last = groups.last, last.task.bytes == task.bytes, last.task.runs == task.runs {
                groups[groups.count - 1].count += 1
            } else {
                groups.append((index, 1, task))
            }
        }
        return groups
    }

    var text: String {
        var lines = [
            "device: \(device) (\(model)): one command carries at most \(maximumCommandBytes) bytes; "
                + "page size \(plan.pageSize); data pointers \(plan.usesSGL ? "SGL" : "PRP")",
            "HBA constraints (valid):",
        ]
        lines += ConstraintRow.lines(constraints)
        lines.append("plan: \(plan.write ? "write" : "read") of \(plan.bytes) bytes (\(plan.bytes / plan.blockSize) blocks of \(plan.blockSize) bytes)")
        lines.append("  tasks: \(plan.tasks.count), each at most \(plan.largestTask) bytes (\(largestTaskRule))"
            + (plan.tasks.count > 1 ? "; the engine refuses a larger task, so an initiator sends it as \(plan.tasks.count)" : ""))
        for group in taskGroups {
            let name = group.count == 1 ? "task \(group.first)" : "tasks \(group.first)-\(group.first + group.count - 1)"
            lines.append("  \(name): \(group.task.bytes) bytes\(group.count == 1 ? "" : " each"), cut by the breaker into \(group.task.commands) "
                + "piece\(group.task.commands == 1 ? "" : "s") of at most \(plan.largestPiece) bytes, one NVMe \(opcode) each")
            for run in group.task.runs {
                let pieces = run.count == 1 ? "piece \(run.first)" : "pieces \(run.first)-\(run.first + run.count - 1)"
                lines.append("    \(pieces): \(opcode) of \(run.bytes) bytes (\(run.blocks) blocks, NLB \(run.blocks - 1)), \(run.pointer)")
            }
        }
        lines.append("  total: \(plan.commands) NVMe \(opcode) command\(plan.commands == 1 ? "" : "s")")
        return lines.joined(separator: "\n")
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(JSONShape(self))).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    private struct JSONShape: Encodable {
        struct Run: Encodable {
            var first: Int, count: Int, bytes: Int, blocks: Int
            var pointer: String
            var prpEntries: Int?, prpListPages: Int?, sglDescriptors: Int?
        }
        struct TaskGroup: Encodable { var first: Int, count: Int, bytes: Int, commands: Int, pieces: [Run] }
        var device: String, model: String, maximumCommandBytes: Int
        var constraints: [ConstraintRow]
        var direction: String, bytes: Int, blockSize: Int, pageSize: Int, dataPointers: String
        var largestTask: Int, largestTaskRule: String, largestPiece: Int
        var tasks: Int, commands: Int
        var taskGroups: [TaskGroup]

        init(_ report: ExplainReport) {
            let plan = report.plan
            (device, model, maximumCommandBytes, constraints) = (report.device, report.model, report.maximumCommandBytes, report.constraints)
            (direction, bytes, blockSize, pageSize) = (plan.write ? "write" : "read", plan.bytes, plan.blockSize, plan.pageSize)
            dataPointers = plan.usesSGL ? "SGL" : "PRP"
            (largestTask, largestTaskRule, largestPiece) = (plan.largestTask, report.largestTaskRule, plan.largestPiece)
            (tasks, commands) = (plan.tasks.count, plan.commands)
            taskGroups = report.taskGroups.map { group in
                TaskGroup(first: group.first, count: group.count, bytes: group.task.bytes, commands: group.task.commands,
                          pieces: group.task.runs.map { run in
                              var shaped = Run(first: run.first, count: run.count, bytes: run.bytes, blocks: run.blocks,
                                               pointer: run.pointer.description)
                              switch run.pointer {
                              case let .prp(entries, pages): (shaped.prpEntries, shaped.prpListPages) = (entries, pages)
                              case let .sgl(descriptors): shaped.sglDescriptors = descriptors
                              }
                              return shaped
                          })
            }
        }
    }
}
