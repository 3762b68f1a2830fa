import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyData

/// Collects the report's per-calibration figures, writing PNGs into the report folder.
final class FigureCollector {
    let directory: URL
    var figures: [ReportFigure] = []

    init(directory: URL) {
        self.directory = directory
    }

    /// The CE map, the coverage diagram, the Kandinsky mask (grouped strategies) and example
    /// prediction sets of one calibration.
    func add(curves: CalibratedCurves, result: CoverageEvaluation.Result, size: Int, testOutputs: NetworkOutputs,
             alpha: Double, exampleImages: Int, classIndex: Int) throws {
        let tag = "\(curves.method)-n\(size)"
        try writePNG(HeatMap(range: 0...0.25, title: "pixelwise CE, \(curves.method), \(size) images").png(result.pixelwiseCalibrationError),
                     "ce_map_\(tag).png")
        figures.append(ReportFigure(section: "Coverage-error maps (colour range 0 to 0.25)",
                                    title: String(format: "%@, %d calibration images: mean CE %.4f", curves.method, size, result.meanPixelwiseCalibrationError),
                                    content: .png("ce_map_\(tag).png")))
        figures.append(ReportFigure(section: "Coverage diagrams",
                                    title: "\(curves.method), \(size) calibration images",
                                    content: .svg(SVGPlots.coverageDiagram(coverages: result.marginalCoverages, title: "\(curves.method), n = \(size)"))))
        // The evaluated class's groups when it is grouped, else the first grouped class's.
        let grouped = classIndex < curves.classCount && curves.groups.groupCounts[classIndex] > 1
            ? classIndex : curves.groups.groupCounts.firstIndex { $0 > 1 }
        if let c = grouped, let mask = curves.groups.labels[c] {
            try writePNG(CalibrationRun.maskPNG(mask), "mask_\(tag).png")
            var title = "\(curves.method), \(size) calibration images: class \(c), \(curves.groups.groupCounts[c]) groups"
            if let theta = curves.groups.findings["theta"] { title += ", θ = \(theta)" }
            figures.append(ReportFigure(section: "Kandinsky masks", title: title, content: .png("mask_\(tag).png")))
        }
        let count = min(exampleImages, testOutputs.count)
        guard count > 0 else { return }
        let examples = testOutputs.subset(Array(0..<count))
        let sets: ShapedArray<UInt8>
        do { sets = try curves.predictionSets(probabilities: examples.probabilities, alpha: alpha) } catch {
            throw ExperimentError(error.description)
        }
        try writePNG(Self.predictionSetPanel(examples, sets: sets, classIndex: classIndex), "sets_\(tag).png")
        figures.append(ReportFigure(section: "Example prediction sets (α = \(alpha); per image: target, probability, set)",
                                    title: "\(curves.method), \(size) calibration images",
                                    content: .png("sets_\(tag).png")))
    }

    private func writePNG(_ data: Data, _ name: String) throws {
        do { try AtomicFile.write(data, to: directory.appendingPathComponent(name)) } catch {
            throw ExperimentError("cannot write \(directory.appendingPathComponent(name).path): \(error.problem)")
        }
    }

    /// One row per image: the target mask (white), the probability of the class (grey levels)
    /// and the prediction set of the class: green where the class is the target and in the set
    /// (covered), red where it is the target but not in the set (missed), blue where it is in the
    /// set only.
    static func predictionSetPanel(_ outputs: NetworkOutputs, sets: ShapedArray<UInt8>, classIndex c: Int) -> Data {
        let (n, h, w) = (outputs.count, outputs.probabilities.shape[2], outputs.probabilities.shape[3])
        let gap = 4
        let width = 3 * w + 2 * gap, height = n * h + (n - 1) * gap
        var rgb = [UInt8](repeating: 255, count: width * height * 3)
        func put(_ row: Int, _ col: Int, _ colour: (UInt8, UInt8, UInt8)) {
            let o = (row * width + col) * 3
            rgb[o] = colour.0; rgb[o + 1] = colour.1; rgb[o + 2] = colour.2
        }
        for i in 0..<n {
            for y in 0..<h {
                for x in 0..<w {
                    let row = i * (h + gap) + y
                    let target = outputs.targets[i, c, y, x] == 1
                    let p = Float(outputs.probabilities[i, c, y, x])
                    let inSet = sets[i, c, y, x] == 1
                    put(row, x, target ? (255, 255, 255) : (0, 0, 0))
                    let grey = UInt8((min(max(p, 0), 1) * 255).rounded())
                    put(row, w + gap + x, (grey, grey, grey))
                    let colour: (UInt8, UInt8, UInt8) = switch (target, inSet) {
                    case (true, true): (40, 180, 60)
                    case (true, false): (220, 40, 40)
                    case (false, true): (60, 90, 220)
                    case (false, false): (0, 0, 0)
                    }
                    put(row, 2 * (w + gap) + x, colour)
                }
            }
        }
        return PNGImage.encode(rgb8: rgb, width: width, height: height)
    }
}
