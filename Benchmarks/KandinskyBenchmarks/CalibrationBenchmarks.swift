import CKandinskyKernels
import Foundation
import KandinskyCalibration
import KandinskyCore

// Calibration benchmarks at the sizes of the performance targets: N = 200 calibration images,
// C = 2 classes, 240 × 320 pixels, and a test set of 100 images. The baseline of each ratio is
// one streaming pass over the calibration probabilities (sum of N·C·H·W floats), measured in
// the same run.

/// Wall-clock and process CPU seconds of the run of `body` with the least CPU time, out of
/// `repeats`. The machine is shared, so CPU time / cores is quoted next to wall time as the
/// figure an unloaded machine would show for work spread over all cores.
private func measure<T>(repeats: Int = 3, _ body: () throws -> T) rethrows -> (seconds: Double, cpu: Double, result: T)
{
    func cpuNow() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
    var bestCPU = Double.infinity
    var wall = 0.0
    var last: T?
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        let cpuStart = cpuNow()
        last = try body()
        let cpu = cpuNow() - cpuStart
        if cpu < bestCPU {
            bestCPU = cpu
            wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
    }
    return (wall, bestCPU, last!)
}

/// The peak resident memory so far, in bytes.
private func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}

/// Current resident memory, in bytes (Linux /proc; 0 elsewhere).
private func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

/// Synthetic segmentation probabilities: a person-like blob whose position and size vary per
/// image, an overconfident model (logit × 2.5 of the true log-odds plus noise), targets drawn
/// from the true probabilities. Class 0 is the complement of class 1.
private func syntheticSet(images n: Int, height h: Int, width w: Int, seed: UInt64) -> (Tensor, ShapedArray<UInt8>) {
    let plane = h * w
    var probabilities = Tensor(shape: [n, 2, h, w], repeating: 0)
    var targets = ShapedArray<UInt8>(shape: [n, 2, h, w], repeating: 0)
    probabilities.withUnsafeMutableBufferPointer { p in
        targets.withUnsafeMutableBufferPointer { t in
            let pb = p.baseAddress!
            let tb = t.baseAddress!
            nonisolated(unsafe) let pp = pb
            nonisolated(unsafe) let tp = tb
            parallelFor(0..<n) { images in
                for image in images {
                    var generator = SeededGenerator.stream(image, of: seed)
                    let cy = Double(h) * (0.4 + 0.2 * generator.nextUnitDouble())
                    let cx = Double(w) * (0.35 + 0.3 * generator.nextUnitDouble())
                    let radius = Double(min(h, w)) * (0.15 + 0.25 * generator.nextUnitDouble())
                    let noiseScale = 0.5 + generator.nextUnitDouble()
                    for row in 0..<h {
                        for col in 0..<w {
                            let d = (Double(row) - cy) * (Double(row) - cy) + (Double(col) - cx) * (Double(col) - cx)
                            let logOdds =
                                3 * (1 - d.squareRoot() / radius) + noiseScale * (generator.nextUnitDouble() - 0.5)
                            let truth = 1 / (1 + exp(-logOdds))
                            let predicted = Float(1 / (1 + exp(-2.5 * logOdds)))
                            let positive: UInt8 = generator.nextUnitDouble() < truth ? 1 : 0
                            let pixel = row * w + col
                            pp[(image * 2 + 1) * plane + pixel] = predicted
                            pp[(image * 2) * plane + pixel] = 1 - predicted
                            tp[(image * 2 + 1) * plane + pixel] = positive
                            tp[(image * 2) * plane + pixel] = 1 - positive
                        }
                    }
                }
            }
        }
    }
    return (probabilities, targets)
}

private func report(_ name: String, _ timing: (seconds: Double, cpu: Double), target: Double?, baseline: Double) {
    let perCore = timing.cpu / Double(availableCoreCount)
    let targetText = target.map { String(format: "target ≤ %.2f s: %@", $0, perCore <= $0 ? "met" : "MISSED") } ?? ""
    print(
        String(
            format: "%-46@ wall %8.3f s  cpu/%d %8.3f s  %8.1f× baseline  %@", name as NSString, timing.seconds,
            availableCoreCount, perCore, perCore / baseline, targetText))
}

/// Runs a calibration with a strategy chosen at run time (the original's Q = 100 for both
/// rules, so that the rules are timed on the same work).
private func calibrate(
    _ grouping: any NonconformityGrouping, _ scores: ScoreStore, rule: QuantileRule = .conformal,
    split: GroupSplit? = nil
) throws -> CalibratedCurves {
    func open<G: NonconformityGrouping>(_ g: G) throws -> CalibratedCurves {
        try Calibrator(grouping: g, levelCount: 100, rule: rule, groupSplit: split).calibrate(scores)
    }
    return try open(grouping)
}

func runCalibrationBenchmarks() throws {
    let (n, h, w) = (200, 240, 320)
    let (probabilities, targets) = syntheticSet(images: n, height: h, width: w, seed: 2023)
    let baselineRun = measure(repeats: 5) {
        probabilities.withUnsafeBufferPointer { p in
            var lanes = SIMD8<Float>()
            var i = 0
            while i + 8 <= p.count {
                lanes += UnsafeRawPointer(p.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self)
                i += 8
            }
            return lanes.sum()
        }
    }
    let baseline = baselineRun.cpu
    print(
        String(
            format: "baseline: one pass over [%d, 2, %d, %d] Float32 probabilities: %.4f s cpu (sum %.1f), %d cores",
            n, h, w, baseline, baselineRun.result, availableCoreCount))

    let build = try measure { try ScoreStore(probabilities: probabilities, targets: targets) }
    let scores = build.result
    report("score store (validation + scores)", (build.seconds, build.cpu), target: nil, baseline: baseline)
    print(
        String(
            format: "  storage: %d scores, %d bytes = %.2f bytes per score (+ %d bytes of offsets)", scores.scoreCount,
            scores.scoreBytes, Double(scores.scoreBytes) / Double(scores.scoreCount), (2 * h * w + 1) * 8))

    // Each strategy under both rules, alternately, on the same groups (all images choose them),
    // so the ratio is the cost of the rule alone.
    var kmeansCurves: CalibratedCurves?
    for (name, grouping) in [
        ("pixel curves [100, 2, 240, 320]", PixelwiseGrouping() as any NonconformityGrouping),
        ("image curves", ImagewiseGrouping()),
        ("kmeans (class 1, k = 4, 10 restarts)", KMeansGrouping(classes: [1])),
    ] {
        let linear = try measure { try calibrate(grouping, scores, rule: .linear, split: .allImages) }
        let conformal = try measure { try calibrate(grouping, scores, rule: .conformal, split: .allImages) }
        report("\(name), linear", (linear.seconds, linear.cpu), target: nil, baseline: baseline)
        report("\(name), conformal", (conformal.seconds, conformal.cpu), target: nil, baseline: baseline)
        print(String(format: "  conformal / linear: %.2f× cpu", conformal.cpu / linear.cpu))
        kmeansCurves = conformal.result
    }
    let kmeansAll = try measure { try calibrate(KMeansGrouping(), scores) }
    report(
        "kmeans, every class, conformal with group split", (kmeansAll.seconds, kmeansAll.cpu), target: nil,
        baseline: baseline)

    // One exact annulus objective.
    let input = GroupingInput(scores: scores, levels: Quantiles.equallySpacedLevels(count: 100))
    let objective = try AnnulusGrouping().objective(for: input, classIndex: 1)
    let thetas: [[Double]] = [
        [0, 0, 40, 80, 160], [5, -5, 100, 120, 200], [0, 0, 150, 150, 300], [-10, 10, 20, 50, 90],
    ]
    let residentBefore = residentBytes()
    let peakBefore = peakResidentBytes()
    var worst = (seconds: 0.0, cpu: 0.0)
    for theta in thetas {
        let t = measure { objective.value(theta: theta) }
        if t.cpu > worst.cpu { worst = (t.seconds, t.cpu) }
        print(
            String(
                format: "  J(%@) = %.6g: wall %.3f s, cpu/%d %.3f s", "\(theta)", t.result, t.seconds,
                availableCoreCount, t.cpu / Double(availableCoreCount)))
    }
    report("one exact annulus objective (worst of 4 θ)", worst, target: 0.3, baseline: baseline)
    print(
        String(
            format: "  %d feature pixels; scratch %.1f MB by construction; resident +%.1f MB, peak +%.1f MB",
            objective.pixelCount, Double(objective.pixelCount * (4 * 4 + 1) + 5 * 8) / 1e6,
            Double(residentBytes() - residentBefore) / 1e6, Double(peakResidentBytes() - peakBefore) / 1e6))

    // The pair-distance kernel alone, one core, per variant: the exact objective's inner loop.
    let kernelPoints = 16_384
    var kernelGenerator = SeededGenerator(seed: 5)
    let kernelFeatures = (0..<(4 * kernelPoints)).map { _ in kernelGenerator.nextUnitFloat() }
    let variants =
        [("baseline", kandinsky_kernel_baseline)]
        + (kandinsky_cpu_has_avx2_fma() != 0 ? [("AVX2 + FMA", kandinsky_kernel_avx2_fma)] : [])
    for (name, variant) in variants {
        let t = measure {
            kernelFeatures.withUnsafeBufferPointer {
                kandinsky_pair_distances_within(variant, $0.baseAddress!, kernelPoints, kernelPoints, 4)
            }
        }
        let pairs = Double(kernelPoints) * Double(kernelPoints - 1) / 2
        print(
            String(
                format:
                    "  pair-distance kernel (%@), %d points, one core: cpu %.3f s, %.3f ns per pair (%.2f× baseline)",
                name, kernelPoints, t.cpu, t.cpu / pairs * 1e9, t.cpu / baseline))
    }

    // The whole gen-ann calibration with default settings.
    let search = try measure(repeats: 1) { try calibrate(AnnulusGrouping(classes: [1]), scores, split: .allImages) }
    report("gen-ann calibration, default settings", (search.seconds, search.cpu), target: 60, baseline: baseline)
    let findings = search.result.groups.findings
    print(
        "  θ = \(findings["theta"] ?? "?"), exact J = \(findings["objective"] ?? "?"), best of \(AnnulusGrouping.sampledSearchRuns) runs: run \(findings["search_run"] ?? "?"), generations \(findings["generations"] ?? "?") (sampled \(findings["sampled_generations"] ?? "?")), refinement evaluations \(findings["refinement_evaluations"] ?? "?"), converged \(findings["converged"] ?? "?")"
    )

    // Our search (subsampled objective, exact pick) against a plain exact search with the same
    // settings, on a grid small enough for the plain search.
    let (sh, sw, sn) = (48, 64, 100)
    let (smallP, smallT) = syntheticSet(images: sn, height: sh, width: sw, seed: 7)
    let smallScores = try ScoreStore(probabilities: smallP, targets: smallT)
    let smallBounds: [[Double]] = [[-4, 4], [-4, 4], [0, 30], [0, 30], [0, 60]]
    print("small grid \(sh)×\(sw), N = \(sn), bounds \(smallBounds):")
    var noWorse = 0
    let seeds: Range<UInt64> = 0..<10
    for seed in seeds {
        let plain = try measure(repeats: 1) {
            try calibrate(
                AnnulusGrouping(classes: [1], bounds: smallBounds, seed: seed, searchSampleSize: nil), smallScores)
        }
        let ours = try measure(repeats: 1) {
            try calibrate(
                AnnulusGrouping(classes: [1], bounds: smallBounds, seed: seed, searchSampleSize: 1024), smallScores)
        }
        let plainJ = plain.result.groups.findings["objective"]!.numberValue!
        let oursJ = ours.result.groups.findings["objective"]!.numberValue!
        if oursJ <= plainJ + 1e-9 { noWorse += 1 }
        print(
            String(
                format:
                    "  seed %d: plain exact J %.6f in %.2f s (%@ generations); ours J %.6f in %.2f s (%@ generations): %@",
                Int(seed), plainJ, plain.seconds, plain.result.groups.findings["generations"]!.metadataValue, oursJ,
                ours.seconds,
                ours.result.groups.findings["generations"]!.metadataValue, oursJ <= plainJ + 1e-9 ? "no worse" : "WORSE"
            ))
    }
    print("  ours no worse than the plain exact search for \(noWorse) of \(seeds.count) seeds")

    // Evaluation of a [100, 2, 240, 320] test set.
    let (testP, testT) = syntheticSet(images: 100, height: h, width: w, seed: 99)
    let curves = kmeansCurves!
    let evaluation = try measure {
        let coverage = try CoverageEvaluation().evaluate(curves, probabilities: testP, targets: testT)
        let raw = try ProbabilityCalibration().evaluate(probabilities: testP, targets: testT, pixel: (120, 160))
        return (coverage, raw)
    }
    report(
        "evaluation (CE map, ECE map, marginal)", (evaluation.seconds, evaluation.cpu), target: 0.5, baseline: baseline)
    print(
        String(
            format: "  kmeans curves on the test set: marginal CE %.4f, mean pixel CE %.4f, mean ECE %.4f",
            evaluation.result.0.marginalCalibrationError, evaluation.result.0.meanPixelwiseCalibrationError,
            evaluation.result.1.meanPixelwiseECE))
    let sets = try measure { try curves.predictionSets(probabilities: testP, alpha: 0.1) }
    report("prediction sets [100, 2, 240, 320]", (sets.seconds, sets.cpu), target: nil, baseline: baseline)
}
