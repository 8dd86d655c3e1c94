/// A small seeded generator (SplitMix64), the one every reproducible random choice in the
/// project uses: the mock's fault injection, torn caches and shuffles, and the property and
/// robustness tests, which replay any failure from its seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    /// A generator whose sequence is fixed by `seed`; equal seeds replay equal sequences.
    public init(seed: UInt64) { state = seed }
    /// The next 64 bits: the state advances by the golden-ratio increment 9E3779B97F4A7C15h and
    /// is mixed by SplitMix64's finalizer (Steele, Lea and Flood, 2014).
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A uniform value in [0, 1).
    public mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
