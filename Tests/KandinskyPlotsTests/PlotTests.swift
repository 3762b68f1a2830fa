import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyData
import Testing

@testable import KandinskyPlots

/// The `tEXt` chunks of a PNG, keyword to text.
func textChunks(_ png: [UInt8]) -> [String: String] {
    var chunks: [String: String] = [:]
    var offset = 8
    while offset + 8 <= png.count {
        let length = png[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
        if String(decoding: png[(offset + 4)..<(offset + 8)], as: UTF8.self) == "tEXt" {
            let body = png[(offset + 8)..<(offset + 8 + length)]
            let nul = body.firstIndex(of: 0)!
            chunks[String(decoding: body[..<nul], as: UTF8.self)] = String(decoding: body[(nul + 1)...], as: UTF8.self)
        }
        offset += 12 + length
    }
    return chunks
}

@Suite struct PlotTests {
    @Test func checksumMatchesThePublishedValue() {
        // The CRC of the IEND chunk type is the constant at the end of every PNG.
        #expect(PNGImage.crc32(Array("IEND".utf8)) == 0xAE42_6082)
    }

    @Test func heatMapIsAValidRGBImageWithAColourBar() throws {
        let values = Tensor(shape: [2, 3], scalars: [0, 0.25, 0.5, .nan, 1, -1])
        let png = [UInt8](HeatMap(range: 0...0.5, title: "CE").png(values))
        #expect(String(decoding: png[12..<16], as: UTF8.self) == "IHDR")
        let image = try RGBImage(decoding: Data(png), file: "memory")
        // Scaled ×85 to reach 256 pixels on the long side, plus the gap and the bar.
        #expect(image.height == 2 * 85 && image.width > 3 * 85)
        #expect(textChunks(png) == ["title": "CE", "range-low": "0.0", "range-high": "0.5"])
        func pixel(_ x: Int, _ y: Int) -> [UInt8] {
            let o = (y * image.width + x) * 3
            return Array(image.pixels[o..<(o + 3)])
        }
        // The map: 0 at the low end, NaN grey; the gap white; the bar yellow at the top, violet at the bottom.
        #expect(pixel(0, 0) == [68, 1, 84] && pixel(0, 85) == [128, 128, 128])
        #expect(pixel(3 * 85, 0) == [255, 255, 255])
        #expect(
            pixel(image.width - 1, 0) == [253, 231, 37] && pixel(image.width - 1, image.height - 1) == [68, 1, 84])
        #expect(HeatMap.viridis(0) == (68, 1, 84) && HeatMap.viridis(1) == (253, 231, 37))
        #expect(HeatMap.viridis(0.5) == (33, 144, 140))
    }

    @Test func heatMapWithoutItsBarIsTheMapAlone() throws {
        let values = Tensor(shape: [2, 3], scalars: [0, 0.25, 0.5, .nan, 1, -1])
        let png = HeatMap(range: 0...0.5, title: "CE", colourBar: false).png(values)
        let image = try RGBImage(decoding: png, file: "memory")
        // ×85 on both sides, no gap and no bar; the first pixel is the low end of viridis.
        #expect(image.width == 3 * 85 && image.height == 2 * 85)
        #expect(Array(image.pixels[0..<3]) == [68, 1, 84])
    }

    @Test func gridPlacesTilesWithGapsAndMargin() {
        let tiles = (0..<3).map { RGBImage(width: 2, height: 1, filledWith: (UInt8($0), 0, 0)) }
        let grid = RGBImage.grid(tiles, columns: 2, gap: 1, margin: 2)
        #expect(grid.width == 2 * 2 + 1 + 4 && grid.height == 2 * 1 + 1 + 4)
        func red(_ x: Int, _ y: Int) -> UInt8 { grid.pixels[(y * grid.width + x) * 3] }
        #expect(red(2, 2) == 0 && red(3, 2) == 0 && red(4, 2) == 255 && red(5, 2) == 1)
        #expect(red(2, 4) == 2 && red(5, 4) == 255)
        #expect(Overlay.contactSheet(tiles, columns: 2, gap: 2) == RGBImage.grid(tiles, columns: 2, gap: 2, margin: 2))
    }

    @Test func coverageDiagramDrawsOneStepPerBinAndTheError() {
        let svg = SVGPlots.coverageDiagram(coverages: [0.1, 0.4, 0.6, 0.9])
        #expect(svg.hasPrefix("<?xml") && svg.contains("</svg>"))
        // CE = mean(|0.1 − 0.125|, |0.4 − 0.375|, |0.6 − 0.625|, |0.9 − 0.875|) = 0.025.
        #expect(svg.contains("CE₄ = 0.0250"))
        #expect(svg.contains(">dashed: coverage = confidence</text>"))
        #expect(svg.components(separatedBy: " H").count - 1 == 4)
        #expect(SVGPlots.subscriptDigits(20) == "₂₀")
    }

    @Test func reliabilityDiagramDrawsNonEmptyBins() {
        let reliability = ProbabilityCalibration.Reliability(
            counts: [0, 2, 1], predictionSums: [0, 0.8, 0.9], targetSums: [0, 1, 1])
        let svg = SVGPlots.reliabilityDiagram(reliability)
        #expect(svg.components(separatedBy: "<circle").count - 1 == 2)
        // ECE = (|1 − 0.8| + |1 − 0.9|)/3 = 0.1.
        #expect(svg.contains("ECE = 0.1000"))
    }

    @Test func figuresShareOneEscapingAndNumberFormat() {
        #expect(SVG.escape("a < b & c > d") == "a &lt; b &amp; c &gt; d")
        #expect(SVG.coordinate(12.345) == "12.3")
        #expect(SVGPlots.coverageDiagram(coverages: [0.5], title: "<x>").contains(">&lt;x&gt;</text>"))
    }
}
