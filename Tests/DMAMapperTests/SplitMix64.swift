/// A tiny seeded generator (SplitMix64) so every random case can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A power of two 2^e with e drawn uniformly from `exponents`.
    mutating func powerOfTwo(_ exponents: ClosedRange<Int>) -> Int {
        1 << Int.random(in: exponents, using: &self)
    }

    /// A value spread evenly over orders of magnitude, so tiny and huge values both occur often.
    mutating func logUniform(upTo maximum: Int) -> Int {
        let bits = Int.random(in: 0...(Int.bitWidth - 1 - maximum.leadingZeroBitCount), using: &self)
        return Int.random(in: 0...Swift.min(maximum, (1 << bits) * 2 - 1), using: &self)
    }
}
