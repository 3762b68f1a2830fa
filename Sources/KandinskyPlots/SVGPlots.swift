import Foundation
import KandinskyCalibration

/// Plots of coverage and reliability as standalone SVG documents (text, no dependencies).
///
/// Both plots share a square unit frame: x and y run over [0, 1], with grid lines every 0.1
/// and the diagonal y = x, which is perfect calibration. Coordinates, escaping and colours are
/// those of every SVG figure of the package (`SVG`).
public enum SVGPlots {
    /// A coverage diagram: the coverage of bin i drawn as a step over [i/K, (i + 1)/K] against
    /// the nominal confidence, the diagonal (said to be perfect calibration in a note), and the
    /// label "CE_K = …" (K as subscript digits).
    ///
    /// - Precondition: one coverage per bin, K ≥ 1.
    public static func coverageDiagram(coverages: [Double], title: String = "Coverage") -> String {
        let k = coverages.count
        precondition(k >= 1, "a coverage diagram needs at least one bin")
        let confidences = (0..<k).map { (Double($0) + 0.5) / Double(k) }
        let error = CoverageEvaluation.calibrationError(coverages: coverages, confidences: confidences)
        var frame = Frame(title: title, xLabel: "nominal confidence", yLabel: "coverage")
        var path = ""
        for (i, coverage) in coverages.enumerated() where !coverage.isNaN {
            let (x0, y) = frame.point(Double(i) / Double(k), coverage)
            let (x1, _) = frame.point(Double(i + 1) / Double(k), coverage)
            path += "M\(f(x0)),\(f(y)) H\(f(x1)) "
        }
        frame.body += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(SVG.palette[0])\" stroke-width=\"2.5\"/>\n"
        frame.label("CE\(subscriptDigits(k)) = \(String(format: "%.4f", error))")
        frame.body +=
            "<text x=\"\(f(frame.left + 10))\" y=\"\(f(frame.top + 38))\" font-size=\"11\" fill=\"#555\">dashed: coverage = confidence</text>\n"
        return frame.document()
    }

    /// A reliability diagram: for each non-empty bin [b/B, (b + 1)/B], a bar up to the observed
    /// frequency of the class, with the mean prediction marked, the diagonal, and "ECE = …".
    public static func reliabilityDiagram(
        _ reliability: ProbabilityCalibration.Reliability, title: String = "Reliability"
    ) -> String {
        let bins = Double(reliability.binCount)
        var frame = Frame(title: title, xLabel: "predicted probability", yLabel: "observed frequency")
        for b in reliability.counts.indices where reliability.counts[b] > 0 {
            // Bin b spans [b/B, (b + 1)/B); the extra bin B of half-probabilities binning
            // (predictions of about 1) is drawn as a half-width bar at the right edge.
            let left = min(Double(b) / bins, 1 - 0.5 / bins)
            let (x0, y) = frame.point(left, reliability.meanTargets[b])
            let (x1, y0) = frame.point(min(Double(b + 1) / bins, 1), 0)
            frame.body +=
                "<rect x=\"\(f(x0))\" y=\"\(f(y))\" width=\"\(f(x1 - x0))\" height=\"\(f(y0 - y))\" fill=\"\(SVG.palette[0])\" fill-opacity=\"0.7\" stroke=\"#174a7c\"/>\n"
            let (mx, my) = frame.point(reliability.meanPredictions[b], reliability.meanPredictions[b])
            frame.body += "<circle cx=\"\(f(mx))\" cy=\"\(f(my))\" r=\"3\" fill=\"\(SVG.palette[1])\"/>\n"
        }
        let ece = reliability.expectedCalibrationError
        frame.label("ECE = " + (ece.isNaN ? "n/a" : String(format: "%.4f", ece)))
        return frame.document()
    }

    /// Digits as Unicode subscripts: 20 → "₂₀".
    package static func subscriptDigits(_ n: Int) -> String {
        String(String(n).map { c in c.wholeNumberValue.map { Character(UnicodeScalar(0x2080 + $0)!) } ?? c })
    }

    static func f(_ x: Double) -> String { SVG.coordinate(x) }

    /// The unit square drawn into a 420 × 420 canvas with margins.
    struct Frame {
        let size = 420.0, left = 60.0, top = 40.0, plot = 330.0
        var body = ""
        let title: String

        init(title: String, xLabel: String, yLabel: String) {
            self.title = title
            for i in 0...10 {
                let v = Double(i) / 10
                let (x, _) = point(v, 0)
                let (_, y) = point(0, v)
                body +=
                    "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + plot))\" stroke=\"#ddd\"/>\n"
                body +=
                    "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plot))\" y2=\"\(f(y))\" stroke=\"#ddd\"/>\n"
                if i % 2 == 0 {
                    body +=
                        "<text x=\"\(f(x))\" y=\"\(f(top + plot + 16))\" font-size=\"11\" text-anchor=\"middle\">\(String(format: "%.1f", v))</text>\n"
                    body +=
                        "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" font-size=\"11\" text-anchor=\"end\">\(String(format: "%.1f", v))</text>\n"
                }
            }
            let (x0, y0) = point(0, 0)
            let (x1, y1) = point(1, 1)
            body +=
                "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plot))\" height=\"\(f(plot))\" fill=\"none\" stroke=\"#333\"/>\n"
            body +=
                "<line x1=\"\(f(x0))\" y1=\"\(f(y0))\" x2=\"\(f(x1))\" y2=\"\(f(y1))\" stroke=\"\(SVG.reference)\" stroke-dasharray=\"5,4\"/>\n"
            body +=
                "<text x=\"\(f(left + plot / 2))\" y=\"\(f(top + plot + 36))\" font-size=\"13\" text-anchor=\"middle\">\(SVG.escape(xLabel))</text>\n"
            body +=
                "<text x=\"16\" y=\"\(f(top + plot / 2))\" font-size=\"13\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(f(top + plot / 2)))\">\(SVG.escape(yLabel))</text>\n"
        }

        func point(_ x: Double, _ y: Double) -> (Double, Double) {
            (left + plot * x, top + plot * (1 - y))
        }

        mutating func label(_ text: String) {
            body += "<text x=\"\(f(left + 10))\" y=\"\(f(top + 20))\" font-size=\"14\">\(SVG.escape(text))</text>\n"
        }

        func document() -> String {
            """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(size))" height="\(Int(size))" viewBox="0 0 \(Int(size)) \(Int(size))" font-family="sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(f(left + plot / 2))" y="24" font-size="15" text-anchor="middle">\(SVG.escape(title))</text>
            \(body)</svg>

            """
        }
    }
}
