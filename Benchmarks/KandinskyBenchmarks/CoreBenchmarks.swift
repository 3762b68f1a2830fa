import Foundation
import KandinskyCore

/// Core benchmarks: sgemm throughput, and NaN-aware quantiles against a sort-based baseline
/// measured in the same run.
///
///     swift run -c release kandinsky-benchmarks core
func runCoreBenchmarks() throws {
    benchmarkSgemm(size: 1024)
    benchmarkNanQuantiles(slices: 76_800, samples: 2000, nanFraction: 0.8, levelCount: 100)
    benchmarkPermute(rows: 4096, columns: 4096)
    reportPeakMemoryOfLargeQuantiles(slices: 153_600, samples: 2000)
}

/// Best wall-clock time of `repetitions` runs of `body`, after one warm-up run.
func bestTime(repetitions: Int, _ body: () -> Void) -> Double {
    body()
    var best = Double.infinity
    for _ in 0..<repetitions {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return best
}

private func benchmarkSgemm(size n: Int) {
    var generator = SeededGenerator(seed: 1)
    let a = Tensor.uniform([n, n], using: &generator)
    let b = Tensor.uniform([n, n], using: &generator)
    let seconds = bestTime(repetitions: 5) { _ = a.matmul(b) }
    let gflops = 2 * Double(n * n * n) / seconds / 1e9
    print(String(format: "sgemm %d³: %.1f GFLOP/s (best of 5, %.1f ms)", n, gflops, seconds * 1e3))
}

/// Scores [samples, slices] in Float16 with `nanFraction` NaNs, the rest uniform in [0, 1).
private func makeScores(samples: Int, slices: Int, nanFraction: Double, seed: UInt64) -> HalfTensor {
    HalfTensor(shape: [samples, slices]) { buffer in
        let chunkCount = 64
        parallelFor(0..<chunkCount) { chunks in
            for chunk in chunks {
                var generator = SeededGenerator.stream(chunk, of: seed)
                let range = (buffer.count * chunk / chunkCount)..<(buffer.count * (chunk + 1) / chunkCount)
                for i in range {
                    let u = generator.nextUnitDouble()
                    buffer[i] = u < nanFraction ? .nan : Float16(u / nanFraction - 1 + u)
                }
            }
        }
    }
}

/// The baseline: the same gathering of each slice's non-NaN values, then a full sort of the
/// slice and numpy's interpolation, split over the same cores.
private func sortingQuantiles(_ scores: HalfTensor, levels: [Double]) -> Tensor {
    let samples = scores.shape[0]
    let slices = scores.shape[1]
    return Tensor(shape: [levels.count, slices]) { output in
        scores.withUnsafeBufferPointer { source in
            parallelFor(0..<slices) { range in
                var values = [Float](repeating: 0, count: samples)
                for slice in range {
                    var m = 0
                    for k in 0..<samples {
                        let v = Float(source[k * slices + slice])
                        if !v.isNaN {
                            values[m] = v
                            m += 1
                        }
                    }
                    values[..<m].sort()
                    for (j, q) in levels.enumerated() {
                        guard m > 0 else {
                            output[j * slices + slice] = .nan
                            continue
                        }
                        let position = Double(m - 1) * q
                        let lower = min(Int(position), m - 1)
                        let upper = min(lower + 1, m - 1)
                        let t = position - Double(lower)
                        let a = values[lower]
                        let b = values[upper]
                        let difference = Double(Float16(b - a))
                        output[j * slices + slice] = Float(
                            t < 0.5 ? Double(a) + difference * t : Double(b) - difference * (1 - t))
                    }
                }
            }
        }
    }
}

private func benchmarkNanQuantiles(slices: Int, samples: Int, nanFraction: Double, levelCount: Int) {
    let scores = makeScores(samples: samples, slices: slices, nanFraction: nanFraction, seed: 2)
    let levels = Quantiles.equallySpacedLevels(count: levelCount)
    let values = Double(samples * slices)
    var selected = Tensor.zeros([1])
    var sorted = Tensor.zeros([1])
    let selection = bestTime(repetitions: 3) { selected = scores.nanQuantiles(levels: levels, alongAxis: 0) }
    let sorting = bestTime(repetitions: 3) { sorted = sortingQuantiles(scores, levels: levels) }
    let agree = selected.scalars.elementsEqual(sorted.scalars) { $0 == $1 || ($0.isNaN && $1.isNaN) }
    print(
        String(
            format: "nanQuantiles %d levels over [%d, %d] Float16, %.0f%% NaN, axis 0 (%d cores):",
            levelCount, samples, slices, nanFraction * 100, availableCoreCount))
    print(String(format: "  selection      %7.1f M values/s (%.2f s)", values / selection / 1e6, selection))
    print(String(format: "  sort baseline  %7.1f M values/s (%.2f s)", values / sorting / 1e6, sorting))
    print(
        String(format: "  selection / sort = %.2fx; results identical: %@", sorting / selection, agree ? "yes" : "NO"))
}

private func benchmarkPermute(rows: Int, columns: Int) {
    var generator = SeededGenerator(seed: 3)
    let matrix = Tensor.uniform([rows, columns], using: &generator)
    let tiled = bestTime(repetitions: 5) { _ = matrix.transposed }
    // Baselines in the same run: the element-by-element transpose loop, and a plain copy.
    let naive = bestTime(repetitions: 5) {
        _ = Tensor(shape: [columns, rows]) { destination in
            matrix.withUnsafeBufferPointer { source in
                for c in 0..<columns {
                    for r in 0..<rows { destination[c * rows + r] = source[r * columns + c] }
                }
            }
        }
    }
    let copy = bestTime(repetitions: 5) {
        _ = Tensor(shape: [rows, columns]) { destination in
            matrix.withUnsafeBufferPointer {
                destination.baseAddress!.initialize(from: $0.baseAddress!, count: $0.count)
            }
        }
    }
    print(
        String(
            format:
                "transpose [%d, %d] Float32: tiled %.1f ms, naive loop %.1f ms (tiled %.2fx as fast), plain copy %.1f ms",
            rows, columns, tiled * 1e3, naive * 1e3, naive / tiled, copy * 1e3))
}

/// The resident set size now, from /proc (Linux), in bytes; nil elsewhere.
private func currentResidentBytes() -> Double? {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
        let pages = statm.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
    else { return nil }
    return pages * Double(sysconf(Int32(_SC_PAGESIZE)))
}

/// The peak resident set size of the process so far, in bytes.
private func peakResidentBytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) * 1024
}

private func reportPeakMemoryOfLargeQuantiles(slices: Int, samples: Int) {
    let scores = makeScores(samples: samples, slices: slices, nanFraction: 0.8, seed: 4)
    let before = currentResidentBytes()
    let start = DispatchTime.now().uptimeNanoseconds
    let result = scores.nanQuantiles(levels: Quantiles.equallySpacedLevels(count: 100), alongAxis: 0)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let after = currentResidentBytes()
    let inputMB = Double(scores.count * 2) / 1e6
    let outputMB = Double(result.count * 4) / 1e6
    print(
        String(
            format: "nanQuantiles [%d, %d] Float16: %.2f s; input %.0f MB, result %.0f MB", samples, slices, seconds,
            inputMB, outputMB))
    if let before, let after {
        print(
            String(
                format: "  resident before %.0f MB, after %.0f MB (growth %.0f MB); process peak so far %.0f MB",
                before / 1e6, after / 1e6, (after - before) / 1e6, peakResidentBytes() / 1e6))
    }
}
