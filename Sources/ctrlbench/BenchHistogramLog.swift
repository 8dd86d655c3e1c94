import Foundation
import Histogram
import SCSIController

/// `--write_hist_log`: HdrHistogram's interval log (format version 1.3), the file HdrHistogram's
/// HistogramLogProcessor and plotting tools read. Each line is one interval of every job merged:
/// its start (seconds from the log's start), its length, its largest latency in milliseconds,
/// and the interval's histogram in HdrHistogram's V2 compressed encoding, base64.
enum HistogramLog {
    static func write(_ results: [JobResult], to path: String, epoch: UInt64, intervalNanoseconds: UInt64) throws {
        var merged: [Int: Histogram<UInt64>] = [:]
        for result in results {
            for (number, latency) in result.intervals {
                if merged[number] == nil { merged[number] = latency } else { merged[number]!.add(latency) }
            }
        }
        let startWall = Date().timeIntervalSince1970 - Double(MonotonicClock.nanoseconds() - epoch) / 1e9
        var text = "#[Histogram log format version 1.3]\n"
        text += String(format: "#[StartTime: %.3f (seconds since epoch), %@]\n", startWall,
                       Date(timeIntervalSince1970: startWall).description)
        text += "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n"
        let length = Double(intervalNanoseconds) / 1e9
        for number in merged.keys.sorted() {
            let histogram = merged[number]!
            text += String(format: "%.3f,%.3f,%.3f,", Double(number) * length, length, Double(histogram.max) / 1e6)
            text += Data(compressedEncoding(histogram)).base64EncodedString() + "\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// V2 compressed encoding: cookie 1C849314h, the compressed length, then a zlib stream of
    /// the V2 encoding (cookie 1C849313h and a 40-byte header, then the counts, ZigZag LEB128
    /// with runs of empty buckets as negative run lengths). Big-endian throughout.
    static func compressedEncoding(_ histogram: Histogram<UInt64>) -> [UInt8] {
        let plain = encoding(histogram)
        let compressed = ZlibStored.wrap(plain)
        var bytes: [UInt8] = []
        append32(0x1C84_9314, to: &bytes)
        append32(UInt32(compressed.count), to: &bytes)
        return bytes + compressed
    }

    static func encoding(_ histogram: Histogram<UInt64>) -> [UInt8] {
        let layout = CountsLayout(significantDigits: Int(histogram.numberOfSignificantValueDigits.rawValue))
        var counts: [Int: UInt64] = [:]
        for step in histogram.recordedValues() {
            counts[layout.index(of: histogram.lowestEquivalentForValue(step.value)), default: 0] += UInt64(step.count)
        }
        var payload: [UInt8] = []
        var index = 0
        let limit = (counts.keys.max() ?? -1) + 1
        while index < limit {
            let count = counts[index] ?? 0
            index += 1
            if count == 0 {
                var zeros = 1
                while index < limit, counts[index] == nil { zeros += 1; index += 1 }
                appendZigZag(zeros > 1 ? -Int64(zeros) : 0, to: &payload)
            } else {
                appendZigZag(Int64(count), to: &payload)
            }
        }
        var bytes: [UInt8] = []
        append32(0x1C84_9313, to: &bytes)
        append32(UInt32(payload.count), to: &bytes)
        append32(0, to: &bytes)  // normalizing index offset
        append32(UInt32(histogram.numberOfSignificantValueDigits.rawValue), to: &bytes)
        append64(histogram.lowestDiscernibleValue, to: &bytes)
        append64(histogram.highestTrackableValue, to: &bytes)
        append64((1.0).bitPattern, to: &bytes)  // integer to double conversion ratio
        return bytes + payload
    }

    /// HdrHistogram's counts array layout (lowest discernible value 1): buckets of
    /// `subBucketHalfCount` slots, each bucket twice the range of the one before.
    struct CountsLayout {
        let subBucketHalfCountMagnitude: Int
        let subBucketHalfCount: Int
        let subBucketMask: UInt64

        init(significantDigits: Int) {
            var largest = 2
            for _ in 0..<significantDigits { largest *= 10 }
            let subBucketCountMagnitude = Int((log2(Double(largest))).rounded(.up))
            subBucketHalfCountMagnitude = max(subBucketCountMagnitude, 1) - 1
            subBucketHalfCount = 1 << subBucketHalfCountMagnitude
            subBucketMask = UInt64(1 << (subBucketHalfCountMagnitude + 1)) - 1
        }

        func index(of value: UInt64) -> Int {
            let bucket = 64 - (value | subBucketMask).leadingZeroBitCount - (subBucketHalfCountMagnitude + 1)
            let subBucket = Int(value >> UInt64(bucket))
            return ((bucket + 1) << subBucketHalfCountMagnitude) + (subBucket - subBucketHalfCount)
        }
    }

    static func appendZigZag(_ value: Int64, to bytes: inout [UInt8]) {
        var v = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        for _ in 0..<8 {
            if v < 0x80 { bytes.append(UInt8(v)); return }
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: v))  // the ninth byte carries eight bits
    }

    static func append32(_ value: UInt32, to bytes: inout [UInt8]) {
        bytes += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    static func append64(_ value: UInt64, to bytes: inout [UInt8]) {
        append32(UInt32(value >> 32), to: &bytes)
        append32(UInt32(value & 0xFFFF_FFFF), to: &bytes)
    }
}

/// A zlib stream (RFC 1950) of DEFLATE stored blocks (RFC 1951, BTYPE 00): valid input for any
/// inflater, without a compressor in the package.
enum ZlibStored {
    static func wrap(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var start = 0
        repeat {
            let end = min(data.count, start + 65535)
            let length = UInt16(end - start)
            out.append(end == data.count ? 1 : 0)
            out += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
            out += data[start..<end]
            start = end
        } while start < data.count
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        HistogramLog.append32(b << 16 | a, to: &out)
        return out
    }
}
