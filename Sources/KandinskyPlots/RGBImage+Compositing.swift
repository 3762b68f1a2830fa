import KandinskyData

// The one compositing step of the package's pictures: images pasted into a larger one. Contact
// sheets, heat maps with their colour bar and the report's stacked example strips are all built
// from it.

extension RGBImage {
    /// A `width` × `height` image of one colour, white unless told.
    package init(width: Int, height: Int, filledWith colour: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        var pixels = [UInt8](repeating: colour.0, count: width * height * 3)
        if colour.1 != colour.0 || colour.2 != colour.0 {
            for i in 0..<(width * height) {
                pixels[3 * i + 1] = colour.1
                pixels[3 * i + 2] = colour.2
            }
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// Copies `tile` into this image with its top-left corner at column `x`, row `y`.
    ///
    /// - Precondition: the tile fits.
    /// - Complexity: O(tile pixels), one row copy per tile row.
    package mutating func paste(_ tile: RGBImage, x: Int, y: Int) {
        precondition(
            x >= 0 && y >= 0 && x + tile.width <= width && y + tile.height <= height,
            "a \(tile.width)×\(tile.height) tile at (\(x), \(y)) does not fit a \(width)×\(height) image")
        let rowBytes = tile.width * 3
        for row in 0..<tile.height {
            let target = ((y + row) * width + x) * 3
            let source = row * rowBytes
            pixels.replaceSubrange(target..<(target + rowBytes), with: tile.pixels[source..<(source + rowBytes)])
        }
    }

    /// Tiles of equal size laid out in rows of `columns` (fewer when there are fewer tiles), with
    /// `gap` white pixels between neighbouring tiles and `margin` white pixels around them all.
    ///
    /// The result is `c · w + (c − 1) · gap + 2 · margin` wide for c columns of tiles w wide, and
    /// likewise high; tile k sits in row ⌊k / c⌋, column k mod c.
    /// - Complexity: O(total pixels).
    package static func grid(_ tiles: [RGBImage], columns: Int, gap: Int, margin: Int) -> RGBImage {
        precondition(!tiles.isEmpty && columns > 0, "a grid needs tiles and at least one column")
        let tileWidth = tiles[0].width
        let tileHeight = tiles[0].height
        precondition(
            tiles.allSatisfy { $0.width == tileWidth && $0.height == tileHeight },
            "grid tiles must all be \(tileWidth)×\(tileHeight)")
        let columnCount = min(columns, tiles.count)
        let rows = (tiles.count + columnCount - 1) / columnCount
        var image = RGBImage(
            width: columnCount * tileWidth + (columnCount - 1) * gap + 2 * margin,
            height: rows * tileHeight + (rows - 1) * gap + 2 * margin)
        for (index, tile) in tiles.enumerated() {
            let (row, column) = index.quotientAndRemainder(dividingBy: columnCount)
            image.paste(tile, x: margin + column * (tileWidth + gap), y: margin + row * (tileHeight + gap))
        }
        return image
    }
}
