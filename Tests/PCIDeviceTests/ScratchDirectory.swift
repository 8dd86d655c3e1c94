import Foundation

/// A fresh temporary folder for one test, removed with everything in it when the test's body
/// returns (a scope rather than an object, so ARC cannot remove it while the body still needs it).
struct ScratchDirectory {
    let path: String

    @discardableResult static func use<Result>(_ prefix: String, _ body: (ScratchDirectory) throws -> Result) throws -> Result {
        let scratch = ScratchDirectory(path: NSTemporaryDirectory() + prefix + "-" + UUID().uuidString)
        try FileManager.default.createDirectory(atPath: scratch.path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch.path) }
        return try body(scratch)
    }

    /// Creates a file named `name` holding `text` and returns its path.
    func file(_ name: String, _ text: String = "") throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        return file
    }
}
