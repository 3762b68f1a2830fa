import Foundation

/// What every SVG figure of the package writes the same way: text escaping, the number format of
/// coordinates and the colours of data series.
package enum SVG {
    /// `text` safe as element content (SVG or HTML): `&`, `<` and `>` escaped. Attributes
    /// take no free text here, so quotes stay as they are.
    package static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    /// An SVG coordinate to 0.1 pixel (a tenth of a pixel is below what a screen shows).
    package static func coordinate(_ value: Double) -> String { String(format: "%.1f", value) }

    /// The colours of data series in drawing order (matplotlib's tab10: blue, red, green,
    /// purple, orange, cyan, brown); references are drawn in ``reference``.
    package static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"]

    /// The grey of reference lines (targets, the diagonal).
    package static let reference = "#666"
}
