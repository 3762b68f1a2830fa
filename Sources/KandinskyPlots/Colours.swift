import Foundation

// The colours of the pictures and their keys: the report's colour bars and legends read the same
// scales as the heat maps they explain (``HeatMap`` for the anchors, ``SVG/palette`` for series).

/// An 8-bit sRGB colour.
package struct RGB: Sendable, Equatable {
    package var red: UInt8, green: UInt8, blue: UInt8

    package init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
        (self.red, self.green, self.blue) = (red, green, blue)
    }

    package init(_ triple: (UInt8, UInt8, UInt8)) {
        self.init(triple.0, triple.1, triple.2)
    }

    /// `#rrggbb`.
    package var hex: String { String(format: "#%02x%02x%02x", red, green, blue) }
}

/// How a value's place t ∈ [0, 1] in its range becomes a colour; the images and their colour
/// bars both read it here, so they cannot disagree.
package enum ColourScale: Sendable {
    /// ``HeatMap/viridis(_:)``: dark violet at 0, yellow at 1.
    case viridis
    /// Black at 0, white at 1: grey level round(255·t).
    case grey

    /// The colour at t, clamped to [0, 1].
    package func colour(_ t: Double) -> RGB {
        let t = t.isNaN ? 0 : min(max(t, 0), 1)
        switch self {
        case .viridis:
            return RGB(HeatMap.viridis(Float(t)))
        case .grey:
            let level = UInt8((t * 255).rounded())
            return RGB(level, level, level)
        }
    }

    /// Gradient stops that reproduce the scale exactly in SVG's linear sRGB interpolation:
    /// viridis is linear between its nine anchors (stops at i/8), grey between its ends.
    package var stops: [Double] {
        switch self {
        case .viridis: (0...8).map { Double($0) / 8 }
        case .grey: [0, 1]
        }
    }
}
