import Foundation
import KandinskyCore
import KandinskyModels

// The `models` group: UNet forward and training-step times, peak memory, GFLOP/s and where the
// time goes, against PyTorch measured in the same run when `python3 -c "import torch"` works
// (scripts/bench/torch_unet.py; set KANDINSKY_SKIP_TORCH=1 to skip it).

func runModelBenchmarks() throws {
    let repeats = Int(ProcessInfo.processInfo.environment["KANDINSKY_BENCH_REPEATS"] ?? "") ?? 5
    var generator = SeededGenerator(seed: 2024)

    // UNet(in 3, out 2, channels 16, depth 4) on 8 × 3 × 96 × 128.
    let small = UNet(inputChannels: 3, outputChannels: 2, channels: 16, depth: 4, using: &generator)
    let images = Tensor.uniform([8, 3, 96, 128], using: &generator)
    let targets = Tensor.uniform([8, 2, 96, 128], using: &generator).map { $0 > 0.5 ? Float(1) : 0 }
    let smallFLOP = convolutionFLOP(small.architecture, images: 8, height: 96, width: 128)

    resetPeakMemory()
    var model = small
    let forward = measure(repeats: repeats, "forward c16 8×3×96×128") { _ = model.forward(images, training: false) }
    let forwardPeak = peakMemoryMiB()
    var trainer = Trainer(model: small, weightDecay: 1e-4, schedule: CosineAnnealingWarmRestarts(baseLearningRate: 1e-3))
    resetPeakMemory()
    let train = measure(repeats: repeats, "training step c16 8×3×96×128") { _ = try! trainer.trainStep(images: images, targets: targets) }
    let trainPeak = peakMemoryMiB()

    // UNet(channels 128) on 1 × 3 × 240 × 320.
    var large = UNet(inputChannels: 3, outputChannels: 2, channels: 128, depth: 4, using: &generator)
    let largeImages = Tensor.uniform([1, 3, 240, 320], using: &generator)
    let largeFLOP = convolutionFLOP(large.architecture, images: 1, height: 240, width: 320)
    resetPeakMemory()
    let forwardLarge = measure(repeats: max(2, repeats / 2), "forward c128 1×3×240×320") { _ = large.forward(largeImages, training: false) }
    let largePeak = peakMemoryMiB()

    print("")
    print("case".padding(toLength: 32, withPad: " ", startingAt: 0) + "     median   GFLOP/s   peak RSS")
    for (name, seconds, flop, peak) in [("forward c16 8×3×96×128", forward, smallFLOP, forwardPeak),
                                        ("training step c16 8×3×96×128", train, 3 * smallFLOP, trainPeak),
                                        ("forward c128 1×3×240×320", forwardLarge, largeFLOP, largePeak)] {
        print(name.padding(toLength: 32, withPad: " ", startingAt: 0)
              + String(format: " %8.1f ms %9.1f %6.0f MiB", seconds * 1e3, flop / seconds / 1e9, peak))
    }
    print(String(format: "(convolution arithmetic: %.2f GFLOP per c16 forward, %.1f GFLOP per c128 forward; a training step counts 3× the forward)",
                 smallFLOP / 1e9, largeFLOP / 1e9))

    print("\nwhere the time goes (one profiled run each):")
    profile("forward c16") { _ = model.forward(images, training: false) }
    profile("training step c16") { _ = try! trainer.trainStep(images: images, targets: targets) }
    profile("forward c128") { _ = large.forward(largeImages, training: false) }

    if ProcessInfo.processInfo.environment["KANDINSKY_SKIP_TORCH"] == "1" { return }
    guard let torch = pyTorchBaseline(repeats: repeats) else {
        print("\nPyTorch baseline skipped (python3 with torch not available)")
        return
    }
    print("\nPyTorch \(torch["torch"] ?? "?") in the same run, Kandinsky time / PyTorch time (target ≤ 0.8):")
    for (name, ours, key) in [("forward c16", forward, "forward_c16"), ("training step c16", train, "train_step_c16"),
                              ("forward c128", forwardLarge, "forward_c128")] {
        guard let theirs = (torch[key] as? Double) else { continue }
        print("  " + name.padding(toLength: 20, withPad: " ", startingAt: 0)
              + String(format: " Kandinsky %8.1f ms   PyTorch %8.1f ms   ratio %.2f", ours * 1e3, theirs * 1e3, ours / theirs))
    }
}

/// Multiply-adds ×2 of every convolution in a forward pass.
private func convolutionFLOP(_ a: UNet.Architecture, images: Int, height: Int, width: Int) -> Double {
    var total = 0.0
    func conv(_ cin: Int, _ cout: Int, _ k: Int, _ pixels: Int) { total += 2 * Double(cin * cout * k * k * pixels) }
    var ch = a.channels, pixels = height * width
    conv(a.inputChannels, ch, 3, pixels); conv(ch, ch, 3, pixels)
    for _ in 1..<a.depth {
        pixels /= 4
        conv(ch, 2 * ch, 3, pixels); conv(2 * ch, 2 * ch, 3, pixels)
        ch *= 2
    }
    pixels /= 4
    conv(ch, ch, 3, pixels); conv(ch, ch, 3, pixels)
    for level in 0..<a.depth {
        pixels *= 4
        let out = level == a.depth - 1 ? ch : ch / 2
        conv(2 * ch, out, 3, pixels); conv(out, out, 3, pixels)
        ch = out
    }
    conv(ch, ch / 2, 1, pixels); conv(ch / 2, a.outputChannels, 1, pixels); conv(a.outputChannels, a.outputChannels, 1, pixels)
    return total * Double(images)
}

/// The median of `repeats` timed runs after one warm-up run, printed as it goes.
private func measure(repeats: Int, _ name: String, _ body: () -> Void) -> Double {
    body()
    var times: [Double] = []
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }
    let median = times.sorted()[times.count / 2]
    print(String(format: "%@: median %.1f ms over %d runs (min %.1f, max %.1f)", name, median * 1e3, repeats,
                 times.min()! * 1e3, times.max()! * 1e3))
    return median
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
    let convolution = t[.convolution]!, threadTotal = max(t[.convolutionGEMM]! + t[.im2col]!, 1e-12)
    // Thread-seconds inside convolutions split its wall-clock time; the remainder is bias,
    // zeroing and reduction of weight gradients.
    let insideShare = min(1, threadTotal / Double(availableCoreCount) / max(convolution, 1e-12))
    let gemm = convolution * insideShare * t[.convolutionGEMM]! / threadTotal
    let im2col = convolution * insideShare * t[.im2col]! / threadTotal
    var parts: [(String, Double)] = [("conv GEMMs", gemm), ("im2col/transforms", im2col), ("conv other", convolution - gemm - im2col),
                                     ("normalisation", t[.normalisation]!), ("elementwise", t[.elementwise]!)]
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
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
    let kibibytes = Double(line.split(separator: " ").dropFirst().first.map(String.init) ?? "") ?? 0
    return kibibytes / 1024
}

/// Runs scripts/bench/torch_unet.py and returns its JSON, or nil when PyTorch is unavailable.
private func pyTorchBaseline(repeats: Int) -> [String: Any]? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "scripts/bench/torch_unet.py", "--repeats", "\(repeats)"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return nil }
    return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
}
