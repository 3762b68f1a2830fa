import KandinskyCore
import Testing

@testable import KandinskyCalibration

/// ``ScoreStore/Builder`` over shards against the store of the whole arrays, for every input
/// form of ``CalibrationInput`` that can be split along N.
@Suite struct ScoreStoreBuilderTests {
    /// One input form: probabilities and targets of N images, as the file would hold them.
    struct Form: Sendable, CustomStringConvertible {
        /// The element types the file stores the probabilities and the targets in.
        let probabilityType: ElementType
        let targetType: ElementType
        /// C of the probabilities as given, and whether targets are label maps.
        let channels: Int
        let labels: Bool
        var classes: Int { channels == 1 ? 2 : channels }

        /// E.g. `F16 sigmoid [N, 1, H, W], I32 label map`.
        var description: String {
            let probabilities = "\(probabilityType.rawValue)\(channels == 1 ? " sigmoid" : "") [N, \(channels), H, W]"
            let targets = labels ? "label map" : channels == 1 ? "mask [N, 1, H, W]" : "one-hot"
            return "\(probabilities), \(targetType.rawValue) \(targets)"
        }
    }

    static let forms: [Form] = [
        Form(probabilityType: .float32, targetType: .uint8, channels: 3, labels: false),
        Form(probabilityType: .float16, targetType: .int64, channels: 3, labels: true),
        Form(probabilityType: .float64, targetType: .bool, channels: 1, labels: true),
        Form(probabilityType: .float32, targetType: .float32, channels: 1, labels: false),
        Form(probabilityType: .float16, targetType: .int32, channels: 1, labels: true),
    ]

    /// Random data of a form: probabilities in [0, 1] with exact 0s, 1s, ties and a few values
    /// clamped from just outside; targets one-hot (several classes may be 1), masks or labels.
    static func data(_ form: Form, n: Int, h: Int, w: Int, seed: UInt64) -> (p: [Double], t: [Double]) {
        var generator = SeededGenerator(seed: seed)
        let p = (0..<(n * form.channels * h * w)).map { i -> Double in
            switch i % 11 {
            case 0: 0
            case 1: 1
            case 2: 0.5
            case 3: 1 + 1e-7
            default: Double(generator.nextUnitFloat())
            }
        }
        let count = form.labels ? n * h * w : n * form.channels * h * w
        let t = (0..<count).map { _ -> Double in
            form.labels ? Double(Int(generator.next() % UInt64(form.classes))) : (generator.next() % 3 == 0 ? 1 : 0)
        }
        return (p, t)
    }

    /// The store of the whole arrays and the store of the shards of `sizes` images each.
    static func stores(
        _ form: Form, sizes: [Int], h: Int, w: Int, precision: ScorePrecision,
        seed: UInt64
    ) throws -> (whole: ScoreStore, sharded: ScoreStore) {
        let n = sizes.reduce(0, +)
        let (p, t) = data(form, n: n, h: h, w: w, seed: seed)
        let pPerImage = form.channels * h * w
        let tPerImage = form.labels ? h * w : pPerImage
        func pShape(_ k: Int) -> [Int] { [k, form.channels, h, w] }
        func tShape(_ k: Int) -> [Int] { form.labels ? [k, h, w] : [k, form.channels, h, w] }
        let input = try CalibrationInput(
            probabilities: AnyShapedArray(p, shape: pShape(n), as: form.probabilityType),
            targets: AnyShapedArray(t, shape: tShape(n), as: form.targetType))
        let whole = try store(input, precision: precision)

        var builder = ScoreStore.Builder(classCount: form.classes, height: h, width: w, precision: precision)
        var start = 0
        var shards: [(AnyShapedArray, AnyShapedArray)] = []
        for k in sizes {
            shards.append(
                (
                    AnyShapedArray(
                        Array(p[(start * pPerImage)..<((start + k) * pPerImage)]), shape: pShape(k),
                        as: form.probabilityType),
                    AnyShapedArray(
                        Array(t[(start * tPerImage)..<((start + k) * tPerImage)]), shape: tShape(k),
                        as: form.targetType)
                ))
            start += k
        }
        for (probabilities, targets) in shards {
            try builder.count(targets: CalibrationInput.targets(targets, probabilitiesShape: probabilities.shape))
        }
        for (probabilities, targets) in shards {
            let shard = try CalibrationInput(probabilities: probabilities, targets: targets)
            switch shard.probabilities {
            case .float32(let q): try builder.append(probabilities: q, targets: shard.targets!)
            case .float16(let q): try builder.append(probabilities: q, targets: shard.targets!)
            }
        }
        return (whole, builder.finish())
    }

    static func store(_ input: CalibrationInput, precision: ScorePrecision) throws -> ScoreStore {
        switch input.probabilities {
        case .float32(let q): try ScoreStore(probabilities: q, targets: input.targets!, precision: precision)
        case .float16(let q): try ScoreStore(probabilities: q, targets: input.targets!, precision: precision)
        }
    }

    @Test(arguments: forms)
    func shardsGiveTheStoreOfTheWholeArraysBitForBit(_ form: Form) throws {
        for (seed, sizes) in [[5], [1, 1, 1], [2, 7, 1, 3], [4, 4]].enumerated() {
            for precision in [ScorePrecision.float, .halfProbabilities] {
                let (whole, sharded) = try Self.stores(
                    form, sizes: sizes, h: 3, w: 4, precision: precision, seed: UInt64(seed))
                expectIdentical(sharded, whole, "\(form), shards \(sizes), \(precision)")
            }
        }
    }

    @Test func refusesAShardOfAnotherShape() throws {
        var builder = ScoreStore.Builder(classCount: 2, height: 3, width: 4)
        try builder.count(targets: ShapedArray(shape: [2, 2, 3, 4], repeating: 1), source: "t-000.npy")
        expectCalibrationError(.shapeMismatch, mentioning: "t-001.npy", "[N, 2, 3, 4]", "[2, 2, 4, 3]") {
            try builder.count(targets: ShapedArray(shape: [2, 2, 4, 3], repeating: 1), source: "t-001.npy")
        }
    }

    @Test func namesTheShardAndIndexOfABadValue() throws {
        var builder = ScoreStore.Builder(classCount: 1, height: 1, width: 2)
        try builder.count(targets: ShapedArray(shape: [1, 1, 1, 2], scalars: [1, 0]), source: "t-000.npy")
        expectCalibrationError(.invalidTarget, mentioning: "t-001.npy", "[0, 0, 0, 1]") {
            try builder.count(targets: ShapedArray(shape: [1, 1, 1, 2], scalars: [0, 2]), source: "t-001.npy")
        }
        var second = ScoreStore.Builder(classCount: 1, height: 1, width: 2)
        let targets = ShapedArray<UInt8>(shape: [1, 1, 1, 2], scalars: [1, 1])
        try second.count(targets: targets)
        expectCalibrationError(.invalidProbability, mentioning: "p-000.npy", "[0, 0, 0, 1]") {
            try second.append(
                probabilities: Tensor(shape: [1, 1, 1, 2], scalars: [0.5, 1.5]), targets: targets,
                probabilitiesSource: "p-000.npy")
        }
    }
}

/// Expects two stores to hold the same shape, precision, offsets, score bit patterns and images.
func expectIdentical(
    _ actual: ScoreStore, _ expected: ScoreStore, _ comment: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(
        actual.imageCount == expected.imageCount && actual.classCount == expected.classCount
            && actual.height == expected.height && actual.width == expected.width
            && actual.precision == expected.precision,
        "\(comment): shape or precision", sourceLocation: sourceLocation)
    #expect(actual.offsets == expected.offsets, "\(comment): offsets", sourceLocation: sourceLocation)
    #expect(
        actual.values.map(\.bitPattern) == expected.values.map(\.bitPattern), "\(comment): scores",
        sourceLocation: sourceLocation)
    #expect(actual.imageIndices == expected.imageIndices, "\(comment): images", sourceLocation: sourceLocation)
}

extension AnyShapedArray {
    /// The row-major `scalars` of `shape` stored as `type`: each value converted as Swift
    /// converts numbers (integers truncate toward zero), and non-zero as `true`.
    fileprivate init(_ scalars: [Double], shape: [Int], as type: ElementType) {
        switch type {
        case .float32: self = .float32(Tensor(shape: shape, scalars: scalars.map { Float($0) }))
        case .float16: self = .float16(HalfTensor(shape: shape, scalars: scalars.map { Float16($0) }))
        case .float64: self = .float64(ShapedArray(shape: shape, scalars: scalars))
        case .uint8: self = .uint8(ShapedArray(shape: shape, scalars: scalars.map { UInt8($0) }))
        case .bool: self = .bool(ShapedArray(shape: shape, scalars: scalars.map { $0 != 0 }))
        case .int32: self = .int32(ShapedArray(shape: shape, scalars: scalars.map { Int32($0) }))
        case .int64: self = .int64(ShapedArray(shape: shape, scalars: scalars.map { Int64($0) }))
        }
    }
}
