import Foundation
import KandinskyCore
import KandinskyData

/// Images per second to decode, resize-and-pad and batch 640 × 480 JPEGs into `[N, 3, 240, 320]`
/// on all cores, against Pillow's decode + resize of the same files (scripts/bench/pillow_resize.py,
/// run in the same process tree, single-threaded as a PyTorch data loader worker is).
func runDataBenchmarks() throws {
    let imageCount = 96, repeats = 5
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kandinsky-data-benchmark-\(ProcessInfo.processInfo.processIdentifier)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }

    // Photo-like content: smooth gradients, a few shapes and sensor noise, JPEG quality 90.
    var generator = SeededGenerator(seed: 2023)
    var files: [URL] = []
    for index in 0..<imageCount {
        var pixels = [UInt8](repeating: 0, count: 640 * 480 * 3)
        let phase = generator.nextUnitDouble() * 6, tint = (0..<3).map { _ in generator.nextUnitDouble() }
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
    var best = 0.0
    var checksum: Float = 0
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        let sampleSize = 3 * 240 * 320
        let batch = Tensor(shape: [imageCount, 3, 240, 320]) { out in
            parallelFor(0..<imageCount, chunkCount: imageCount) { range in
                for index in range {
                    let image = try! RGBImage(contentsOf: files[index])
                    dims.write(image, into: UnsafeMutableBufferPointer(rebasing: out[(index * sampleSize)..<((index + 1) * sampleSize)]))
                }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        best = max(best, Double(imageCount) / seconds)
        checksum += batch[imageCount - 1, 2, 120, 160]
    }

    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/bench/pillow_resize.py")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", script.path, directory.path, "320", "240", String(repeats)]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    process.waitUntilExit()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    print(String(format: "decode + resize-and-pad + batch, %d JPEGs 640×480 → [N, 3, 240, 320] on %d cores: %.1f images/s (checksum %.3f)", imageCount, availableCoreCount, best, checksum))
    if process.terminationStatus == 0, let pillow = Double(output) {
        print(String(format: "Pillow decode + resize (1 process): %.1f images/s; ratio %.2f×", pillow, best / pillow))
    } else {
        print("Pillow baseline unavailable (python3 with Pillow needed): \(output)")
    }
}
