#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if FUZZING
/// libFuzzer's driver (compiler-rt, present when linking with -sanitize=fuzzer).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafeRawPointer, Int) -> CInt
) -> CInt
#endif

/// The body of every fuzz executable's entry point. SwiftPM names each executable's entry itself,
/// so libFuzzer's own `main` cannot be used: built with -DFUZZING (scripts/fuzz.sh)
/// this hands `testOneInput` to libFuzzer's driver; in a plain build it replays the input files
/// given as arguments through it, so a crash the fuzzer found can be reproduced under a debugger.
public func runFuzzTarget(_ testOneInput: @convention(c) (UnsafeRawPointer, Int) -> CInt) -> Never {
    #if FUZZING
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
    #else
    var replayed = 0
    for path in CommandLine.arguments.dropFirst() {
        guard let file = fopen(path, "rb") else { continue }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let read = fread(&buffer, 1, buffer.count, file)
            if read <= 0 { break }
            bytes += buffer[0..<read]
        }
        fclose(file)
        bytes.withUnsafeBytes { _ = testOneInput($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, $0.count) }
        replayed += 1
    }
    print("replayed \(replayed) inputs")
    exit(0)
    #endif
}
