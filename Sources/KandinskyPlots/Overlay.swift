import KandinskyCore
import KandinskyData

/// Pictures for looking at data: masks blended over images, and grids of such pictures.
public enum Overlay {
    /// Colours of categories 1, 2, …: red, blue, green, yellow, magenta, cyan, then repeating.
    public static let palette: [(UInt8, UInt8, UInt8)] = [
        (230, 25, 75), (0, 130, 200), (60, 180, 75), (255, 225, 25), (240, 50, 230), (70, 240, 240),
    ]

    /// An image `[3, H, W]` (values in [0, 1]) with a target `[1 + C, H, W]` blended over it: each
    /// pixel of category `c` (channel `1 + c`) is mixed half and half with that category's colour
    /// (the last category wins where several overlap), and the outline of each category is drawn
    /// in full colour.
    /// - Complexity: O(C · H · W).
    public static func blend(image: Tensor, target: ShapedArray<UInt8>) -> RGBImage {
        precondition(
            image.rank == 3 && image.shape[0] == 3 && target.rank == 3
                && Array(target.shape[1...]) == Array(image.shape[1...]),
            "image [3, H, W] and target [C, H, W] must agree, got \(image.shape) and \(target.shape)")
        let height = image.shape[1]
        let width = image.shape[2]
        let plane = height * width
        var pixels = [UInt8](repeating: 0, count: plane * 3)
        image.withUnsafeBufferPointer { source in
            for i in 0..<plane {
                for channel in 0..<3 {
                    pixels[3 * i + channel] = UInt8((min(max(source[channel * plane + i], 0), 1) * 255).rounded())
                }
            }
        }
        target.withUnsafeBufferPointer { mask in
            for category in 1..<max(target.shape[0], 1) {
                let colour = palette[(category - 1) % palette.count]
                let rgb = [colour.0, colour.1, colour.2]
                let base = category * plane
                for y in 0..<height {
                    for x in 0..<width where mask[base + y * width + x] != 0 {
                        let i = y * width + x
                        let edge =
                            x == 0 || y == 0 || x == width - 1 || y == height - 1
                            || mask[base + i - 1] == 0 || mask[base + i + 1] == 0 || mask[base + i - width] == 0
                            || mask[base + i + width] == 0
                        for channel in 0..<3 {
                            pixels[3 * i + channel] =
                                edge ? rgb[channel] : UInt8((Int(pixels[3 * i + channel]) + Int(rgb[channel]) + 1) / 2)
                        }
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Tiles of equal size laid out in rows of `columns`, separated and surrounded by `gap`
    /// white pixels: the grid of the package's figures with a margin of `gap`.
    /// - Complexity: O(total pixels).
    public static func contactSheet(_ tiles: [RGBImage], columns: Int, gap: Int = 4) -> RGBImage {
        RGBImage.grid(tiles, columns: columns, gap: gap, margin: gap)
    }
}
