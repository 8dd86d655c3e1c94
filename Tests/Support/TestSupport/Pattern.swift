// Shared by the test targets (they cannot depend on one another): test data.

/// `count` bytes of a pattern that depends on position and seed.
public func pattern(_ count: Int, seed: UInt8) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ ($0 >> 9) &* 7) ^ seed }
}
