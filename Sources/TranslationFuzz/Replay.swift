import FuzzDriver

/// The executable's entry point: libFuzzer's driver, or a replay of the files given (`FuzzDriver`).
@main
struct Replay {
    static func main() {
        runFuzzTarget { fuzz($0, $1) }
    }
}
