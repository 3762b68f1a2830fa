/// Rasterises a polygon exactly as pycocotools' `frPyObjects` + `decode` (`annToMask`) does, so
/// that masks agree pixel for pixel with what the original pipeline trained on.
///
/// The rule: vertices are scaled by 5 and rounded (`Int(5 · c + 0.5)`, truncating towards zero);
/// every edge is walked one step per unit of its longer axis, giving a dense boundary on the
/// fine grid; wherever that boundary crosses a fine column that is the centre of a pixel column
/// (`(u + 0.5) / 5 − 0.5` integral), the crossing's y (the smaller of the two fine samples,
/// mapped back and rounded up, clamped to [0, h]) toggles the inside/outside state of the column
/// from that row down. The toggles, as column-major positions, become run lengths. A
/// self-intersecting polygon therefore follows the even-odd rule, and parts outside the image
/// are clipped.
enum PolygonRasterizer {
    /// The number of steps of the fine-grid boundary walk of ``rle(polygon:height:width:)``
    /// (the larger of |Δx| and |Δy| of each edge, plus one per edge), capped just above
    /// ``ImageLimits/maximumPolygonBoundarySteps`` so that the sum cannot overflow. Coordinates
    /// must be finite and below 10⁹ in magnitude.
    static func boundarySteps(polygon: [Double]) -> Int {
        let k = polygon.count / 2
        guard k > 0 else { return 0 }
        func fine(_ c: Double) -> Int { Int(scale * c + 0.5) }
        var steps = 0
        for j in 0..<k {
            let next = (j + 1) % k
            let dx = abs(fine(polygon[2 * next]) - fine(polygon[2 * j]))
            let dy = abs(fine(polygon[2 * next + 1]) - fine(polygon[2 * j + 1]))
            steps += max(dx, dy) + 1
            if steps > ImageLimits.maximumPolygonBoundarySteps { return ImageLimits.maximumPolygonBoundarySteps + 1 }
        }
        return steps
    }

    /// Vertices are scaled by this factor and rounded before the boundary is walked.
    static let scale = 5.0

    /// The RLE of one polygon `[x0, y0, x1, y1, …]` (at least 3 points) in an `height × width` image.
    /// - Complexity: O(perimeter · 5 + number of toggles · log).
    static func rle(polygon: [Double], height: Int, width: Int) -> RunLengthEncoding {
        let k = polygon.count / 2
        precondition(k >= 3, "a polygon needs at least 3 points, got \(k)")
        var xs = [Int](repeating: 0, count: k + 1)
        var ys = [Int](repeating: 0, count: k + 1)
        for j in 0..<k {
            xs[j] = Int(scale * polygon[2 * j] + 0.5)
            ys[j] = Int(scale * polygon[2 * j + 1] + 0.5)
        }
        xs[k] = xs[0]
        ys[k] = ys[0]

        // Dense boundary on the fine grid, each edge walked from its start to its end.
        var u: [Int] = []
        var v: [Int] = []
        for j in 0..<k {
            var x0 = xs[j]
            var x1 = xs[j + 1]
            var y0 = ys[j]
            var y1 = ys[j + 1]
            let dx = abs(x1 - x0)
            let dy = abs(y1 - y0)
            // Walk along the longer axis in increasing order (so the rounding is the same
            // whichever way the edge points), but emit the points from start to end.
            let flip = (dx >= dy && x0 > x1) || (dx < dy && y0 > y1)
            if flip {
                swap(&x0, &x1)
                swap(&y0, &y1)
            }
            if dx == 0 && dy == 0 {
                u.append(x0)
                v.append(y0)
            } else if dx >= dy {
                let slope = Double(y1 - y0) / Double(dx)
                for d in 0...dx {
                    let t = flip ? dx - d : d
                    u.append(t + x0)
                    v.append(Int(Double(y0) + slope * Double(t) + 0.5))
                }
            } else {
                let slope = Double(x1 - x0) / Double(dy)
                for d in 0...dy {
                    let t = flip ? dy - d : d
                    v.append(t + y0)
                    u.append(Int(Double(x0) + slope * Double(t) + 0.5))
                }
            }
        }

        // Crossings of pixel-column centres, as column-major toggle positions.
        var toggles: [Int] = [height * width]
        for j in 1..<u.count where u[j] != u[j - 1] {
            var xd = Double(u[j] < u[j - 1] ? u[j] : u[j] - 1)
            xd = (xd + 0.5) / scale - 0.5
            if xd.rounded(.down) != xd || xd < 0 || xd > Double(width - 1) { continue }
            var yd = Double(v[j] < v[j - 1] ? v[j] : v[j - 1])
            yd = (yd + 0.5) / scale - 0.5
            yd = min(max(yd, 0), Double(height)).rounded(.up)
            toggles.append(Int(xd) * height + Int(yd))
        }
        toggles.sort()

        // Differences are run lengths; a zero-length run merges its neighbours.
        var counts: [Int] = []
        counts.reserveCapacity(toggles.count)
        var previous = 0
        let differences = toggles.map { t -> Int in
            defer { previous = t }
            return t - previous
        }
        counts.append(differences[0])
        var j = 1
        while j < differences.count {
            if differences[j] > 0 {
                counts.append(differences[j])
                j += 1
            } else {
                j += 1
                if j < differences.count {
                    counts[counts.count - 1] += differences[j]
                    j += 1
                }
            }
        }
        return try! RunLengthEncoding(height: height, width: width, counts: counts)
    }
}
