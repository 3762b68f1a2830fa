import Foundation
import KandinskyCore
import KandinskyData

/// Images per second to decode, resize-and-pad and batch 640 × 480 JPEGs into `[N, 3, 240, 320]`
/// on all cores, against Pillow's decode + resize of the same files (scripts/bench/pillow_resize.py,
/// run in the same process tree, single-threaded as a PyTorch data loader worker is), alternating
/// the two so that both see the same machine load.
func runDataBenchmarks() throws {
    let imageCount = 96
    let rounds = 9
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
        "kandinsky-data-benchmark-\(ProcessInfo.processInfo.processIdentifier)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }

    // Photo-like content: smooth gradients, a few shapes and sensor noise, JPEG quality 90.
    var generator = SeededGenerator(seed: 2023)
    var files: [URL] = []
    for index in 0..<imageCount {
        var pixels = [UInt8](repeating: 0, count: 640 * 480 * 3)
        let phase = generator.nextUnitDouble() * 6
        let tint = (0..<3).map { _ in generator.nextUnitDouble() }
        for y in 0..<480 {
            for x in 0..<640 {
                let base = 0.5 + 0.3 * sin(Double(x) / 37 + phase) * cos(Double(y) / 53 - phase)
                for c in 0..<3 {
                    let value = (base * 0.7 + tint[c] * 0.3) * 255 + 12 * generator.nextNormal()
                    pixels[(y * 640 + x) * 3 + c] = UInt8(min(max(value.rounded(), 0), 255))
                }
            }
        }
        let url = directory.appendingPathComponent(String(format: "%04d.jpg", index))
        try JPEGImage.encode(rgb8: pixels, width: 640, height: 480, quality: 90).write(to: url)
        files.append(url)
    }

    let dims = ResizeAndPad(width: 320, height: 240)
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("scripts/bench/pillow_resize.py")

    /// One pass over all files on all cores, in images per second.
    func kandinskyPass() -> (rate: Double, checksum: Float) {
        let start = DispatchTime.now().uptimeNanoseconds
        let sampleSize = 3 * 240 * 320
        let batch = Tensor(shape: [imageCount, 3, 240, 320]) { out in
            parallelFor(0..<imageCount, chunkCount: imageCount) { range in
                for index in range {
                    let image = try! RGBImage(contentsOf: files[index])
                    dims.write(
                        image,
                        into: UnsafeMutableBufferPointer(
                            rebasing: out[(index * sampleSize)..<((index + 1) * sampleSize)]))
                }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return (Double(imageCount) / seconds, batch[imageCount - 1, 2, 120, 160])
    }

    /// One pass of the Pillow script (its own timing, without interpreter start-up), or nil.
    func pillowPass() throws -> Double? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, directory.path, "320", "240", "1"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = Pipe()
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0
            ? Double(String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) : nil
    }

    // Alternate the two so that both see the same machine load; report the median paired ratio.
    var ours: [Double] = []
    var theirs: [Double] = []
    var ratios: [Double] = []
    var checksum: Float = 0
    for _ in 0..<rounds {
        let pass = kandinskyPass()
        ours.append(pass.rate)
        checksum = pass.checksum
        if let pillow = try pillowPass() {
            theirs.append(pillow)
            ratios.append(pass.rate / pillow)
        }
    }
    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    print(
        String(
            format:
                "decode + resize-and-pad + batch, %d JPEGs 640×480 → [N, 3, 240, 320] on %d cores: median %.1f images/s (checksum %.3f)",
            imageCount, availableCoreCount, median(ours), checksum))
    if ratios.isEmpty {
        print("Pillow baseline unavailable (python3 with Pillow needed to run \(script.lastPathComponent))")
    } else {
        print(
            String(
                format:
                    "Pillow decode + resize (1 process): median %.1f images/s; median paired ratio %.2f× over %d rounds",
                median(theirs), median(ratios), ratios.count))
    }
}
