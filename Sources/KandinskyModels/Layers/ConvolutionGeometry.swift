/// The sizes of one ``Conv2d`` call and how its work is cut up: the pixel tiles of im2col here,
/// the bands of shifted windows in `PaddedConvolution.swift`, the tile blocks of Winograd in
/// `WinogradConvolution.swift`.
struct ConvolutionGeometry {
    let images, inputChannels, outputChannels, height, width, kernel, padding: Int
    /// Floats of column memory a tile may use (see ``ConvolutionScratch/columnBudget``).
    let columnBudget: Int
    /// Worker threads the tiles are spread over.
    let threads: Int

    var outputHeight: Int { height + 2 * padding - kernel + 1 }
    var outputWidth: Int { width + 2 * padding - kernel + 1 }
    var outputPixels: Int { outputHeight * outputWidth }
    var patchSize: Int { inputChannels * kernel * kernel }
    var inputImageSize: Int { inputChannels * height * width }
    var outputImageSize: Int { outputChannels * outputPixels }

    /// Pixels per tile: as many as the column budget holds, then evened out so that the tiles of
    /// a batch split equally over `threads` workers.
    var tileSize: Int {
        let widest = min(outputPixels, max(1, columnBudget / patchSize))
        let tiles = balancedCount((outputPixels + widest - 1) / widest, limit: outputPixels)
        return (outputPixels + tiles - 1) / tiles
    }

    /// `count` pieces per image, raised to a multiple of the thread count when the images alone
    /// do not split evenly (a single image on two cores would otherwise leave one idle).
    func balancedCount(_ count: Int, limit: Int) -> Int {
        guard threads > 1, images % threads != 0 else { return count }
        return min(limit, (count + threads - 1) / threads * threads)
    }
    var tileCount: Int { (outputPixels + tileSize - 1) / tileSize }
}
