import Foundation
import KandinskyCore
import KandinskyModels

// The `models` group: UNet forward and training-step times, peak memory, GFLOP/s and where the
// time goes, against PyTorch measured in the same run when `python3 -c "import torch"` works
// (scripts/bench/torch_unet.py; set KANDINSKY_SKIP_TORCH=1 to skip it). Blocks of Kandinsky
// runs alternate with blocks of PyTorch runs, each block a warm-up run and then timed runs
// back to back, and the ratio reported is the median over the rounds of the blocks' median
// ratios: the speed of a shared machine drifts by tens of percent within a minute, which one
// block per side would attribute to one of them.

func runModelBenchmarks() throws {
    let repeats = Int(ProcessInfo.processInfo.environment["KANDINSKY_BENCH_REPEATS"] ?? "") ?? 5
    let torch = ProcessInfo.processInfo.environment["KANDINSKY_SKIP_TORCH"] == "1" ? nil : PyTorchServer()
    var generator = SeededGenerator(seed: 2024)

    // UNet(in 3, out 2, channels 16, depth 4) on 8 × 3 × 96 × 128.
    let small = UNet(inputChannels: 3, outputChannels: 2, channels: 16, depth: 4, using: &generator)
    let images = Tensor.uniform([8, 3, 96, 128], using: &generator)
    let targets = Tensor.uniform([8, 2, 96, 128], using: &generator).map { $0 > 0.5 ? Float(1) : 0 }
    let smallFLOP = convolutionFLOP(small.architecture, images: 8, height: 96, width: 128)

    resetPeakMemory()
    var model = small
    let forward = measure(repeats: repeats, "forward c16 8×3×96×128", pairedWith: torch, "forward_c16") {
        _ = model.forward(images, training: false)
    }
    let forwardPeak = peakMemoryMiB()
    var trainer = Trainer(
        model: small, weightDecay: 1e-4, schedule: CosineAnnealingWarmRestarts(baseLearningRate: 1e-3))
    resetPeakMemory()
    let train = measure(repeats: repeats, "training step c16 8×3×96×128", pairedWith: torch, "train_step_c16") {
        _ = try! trainer.trainStep(images: images, targets: targets)
    }
    let trainPeak = peakMemoryMiB()

    // UNet(channels 128) on 1 × 3 × 240 × 320.
    var large = UNet(inputChannels: 3, outputChannels: 2, channels: 128, depth: 4, using: &generator)
    let largeImages = Tensor.uniform([1, 3, 240, 320], using: &generator)
    let largeFLOP = convolutionFLOP(large.architecture, images: 1, height: 240, width: 320)
    resetPeakMemory()
    // A run takes seconds (PyTorch's about twice ours): paired, three rounds of one timed run each.
    let forwardLarge = measure(
        repeats: torch == nil ? max(2, repeats / 2) : 1, rounds: 3, "forward c128 1×3×240×320",
        pairedWith: torch, "forward_c128"
    ) {
        _ = large.forward(largeImages, training: false)
    }
    let largePeak = peakMemoryMiB()

    print("")
    print("case".padding(toLength: 32, withPad: " ", startingAt: 0) + "     median   GFLOP/s   peak RSS")
    for (name, measurement, flop, peak) in [
        ("forward c16 8×3×96×128", forward, smallFLOP, forwardPeak),
        ("training step c16 8×3×96×128", train, 3 * smallFLOP, trainPeak),
        ("forward c128 1×3×240×320", forwardLarge, largeFLOP, largePeak),
    ] {
        let seconds = measurement.ours
        print(
            name.padding(toLength: 32, withPad: " ", startingAt: 0)
                + String(format: " %8.1f ms %9.1f %6.0f MiB", seconds * 1e3, flop / seconds / 1e9, peak))
    }
    print(
        String(
            format:
                "(convolution arithmetic: %.2f GFLOP per c16 forward, %.1f GFLOP per c128 forward; a training step counts 3× the forward)",
            smallFLOP / 1e9, largeFLOP / 1e9))

    print("\nwhere the time goes (one profiled run each):")
    profile("forward c16") { _ = model.forward(images, training: false) }
    profile("training step c16") { _ = try! trainer.trainStep(images: images, targets: targets) }
    profile("forward c128") { _ = large.forward(largeImages, training: false) }

    guard let torch else {
        print("\nPyTorch baseline skipped (KANDINSKY_SKIP_TORCH=1, or python3 with torch not available)")
        return
    }
    print("\nPyTorch \(torch.version) in the same run, in blocks alternating with Kandinsky's; ratio = median over")
    print("the rounds of Kandinsky's block median / PyTorch's block median (target ≤ 0.8), range in brackets:")
    for (name, measurement) in [("forward c16", forward), ("training step c16", train), ("forward c128", forwardLarge)]
    {
        guard let theirs = measurement.theirs, let ratios = measurement.ratios else { continue }
        print(
            "  " + name.padding(toLength: 20, withPad: " ", startingAt: 0)
                + String(
                    format: " Kandinsky %8.1f ms   PyTorch %8.1f ms   ratio %.2f (%.2f–%.2f)", measurement.ours * 1e3,
                    theirs * 1e3, median(ratios), ratios.min()!, ratios.max()!))
    }
}

/// Multiply-adds ×2 of every convolution in a forward pass.
private func convolutionFLOP(_ a: UNet.Architecture, images: Int, height: Int, width: Int) -> Double {
    var total = 0.0
    func conv(_ cin: Int, _ cout: Int, _ k: Int, _ pixels: Int) { total += 2 * Double(cin * cout * k * k * pixels) }
    var ch = a.channels
    var pixels = height * width
    conv(a.inputChannels, ch, 3, pixels)
    conv(ch, ch, 3, pixels)
    for _ in 1..<a.depth {
        pixels /= 4
        conv(ch, 2 * ch, 3, pixels)
        conv(2 * ch, 2 * ch, 3, pixels)
        ch *= 2
    }
    pixels /= 4
    conv(ch, ch, 3, pixels)
    conv(ch, ch, 3, pixels)
    for level in 0..<a.depth {
        pixels *= 4
        let out = level == a.depth - 1 ? ch : ch / 2
        conv(2 * ch, out, 3, pixels)
        conv(out, out, 3, pixels)
        ch = out
    }
    conv(ch, ch / 2, 1, pixels)
    conv(ch / 2, a.outputChannels, 1, pixels)
    conv(a.outputChannels, a.outputChannels, 1, pixels)
    return total * Double(images)
}

/// Median seconds of Kandinsky's runs and, when paired, of PyTorch's blocks and of the rounds' ratios.
private struct Measurement {
    var ours: Double
    var theirs: Double?
    var ratios: [Double]?
}

private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

/// Kandinsky's median over `repeats` timed runs after one warm-up run, printed as it goes. With a
/// PyTorch server the runs come in `rounds`, each a warm-up and a block of timed runs of
/// Kandinsky followed by the same of PyTorch's `pyTorchCase`; a round's ratio is that of the
/// two blocks' medians.
private func measure(
    repeats: Int, rounds: Int = 5, _ name: String, pairedWith torch: PyTorchServer?,
    _ pyTorchCase: String, _ body: () -> Void
) -> Measurement {
    var times: [Double] = []
    var theirs: [Double] = []
    var ratios: [Double] = []
    for _ in 0..<(torch == nil ? 1 : rounds) {
        body()
        var block: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            block.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        }
        times += block
        guard let torch, let seconds = torch.medianSeconds(pyTorchCase, runs: repeats) else { continue }
        theirs.append(seconds)
        ratios.append(median(block) / seconds)
    }
    print(
        String(
            format: "%@: median %.1f ms over %d runs (min %.1f, max %.1f)", name, median(times) * 1e3, times.count,
            times.min()! * 1e3, times.max()! * 1e3))
    guard torch != nil, ratios.count == rounds else { return Measurement(ours: median(times)) }
    return Measurement(ours: median(times), theirs: median(theirs), ratios: ratios)
}

/// One run with ``ModelProfiler`` on, printed as shares of the wall-clock time.
private func profile(_ name: String, _ body: () -> Void) {
    ModelProfiler.reset()
    ModelProfiler.isEnabled = true
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    let wall = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    ModelProfiler.isEnabled = false
    let t = ModelProfiler.snapshot()
    let convolution = t[.convolution]!
    let threadTotal = max(t[.convolutionGEMM]! + t[.im2col]!, 1e-12)
    // Thread-seconds inside convolutions split its wall-clock time; the remainder is bias,
    // zeroing and reduction of weight gradients.
    let insideShare = min(1, threadTotal / Double(availableCoreCount) / max(convolution, 1e-12))
    let gemm = convolution * insideShare * t[.convolutionGEMM]! / threadTotal
    let im2col = convolution * insideShare * t[.im2col]! / threadTotal
    var parts: [(String, Double)] = [
        ("conv GEMMs", gemm), ("im2col/transforms", im2col), ("conv other", convolution - gemm - im2col),
        ("normalisation", t[.normalisation]!), ("elementwise", t[.elementwise]!),
    ]
    if t[.loss]! > 0 { parts.append(("loss", t[.loss]!)) }
    if t[.optimizer]! > 0 { parts.append(("Adam", t[.optimizer]!)) }
    let accounted = parts.reduce(0) { $0 + $1.1 }
    parts.append(("unaccounted", wall - accounted))
    let line = parts.map { String(format: "%@ %.0f%%", $0.0, 100 * $0.1 / wall) }.joined(separator: ", ")
    print(String(format: "  %@ (%.1f ms): %@", name, wall * 1e3, line))
}

/// Resets the kernel's peak resident set size of this process (Linux ≥ 4.0).
private func resetPeakMemory() {
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
}

/// VmHWM, the peak resident set size, in MiB (0 where /proc is unavailable).
private func peakMemoryMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
    else { return 0 }
    let kibibytes = Double(line.split(separator: " ").dropFirst().first.map(String.init) ?? "") ?? 0
    return kibibytes / 1024
}

/// `python3 scripts/bench/torch_unet.py --serve`: PyTorch timing a block of runs of a named
/// case per request, so that its blocks alternate with Kandinsky's.
private final class PyTorchServer {
    /// PyTorch's version, as the server reports it once its models are built and warmed up.
    let version: String
    private let process = Process()
    private let requests = Pipe(), replies = Pipe()
    private var pending = Data()

    /// Starts the server, or returns nil when python3 or torch is unavailable.
    init?() {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "scripts/bench/torch_unet.py", "--serve"]
        process.standardInput = requests
        process.standardOutput = replies
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        guard let line = Self.readLine(replies.fileHandleForReading, &pending),
            let header = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
            let version = header["torch"] as? String
        else {
            process.terminate()
            return nil
        }
        self.version = version
    }

    deinit {
        try? requests.fileHandleForWriting.write(contentsOf: Data("quit\n".utf8))
        process.waitUntilExit()
    }

    /// The median seconds of `runs` runs of `name` (`forward_c16`, `train_step_c16` or
    /// `forward_c128`) after one unmeasured run, or nil if the server failed.
    func medianSeconds(_ name: String, runs: Int) -> Double? {
        guard (try? requests.fileHandleForWriting.write(contentsOf: Data("\(name) \(runs)\n".utf8))) != nil,
            let line = Self.readLine(replies.fileHandleForReading, &pending)
        else { return nil }
        return Double(line)
    }

    /// The next line of `handle`, without its newline; bytes read past it stay in `pending`.
    private static func readLine(_ handle: FileHandle, _ pending: inout Data) -> String? {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            pending.append(chunk)
        }
    }
}
