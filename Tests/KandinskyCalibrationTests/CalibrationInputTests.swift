import KandinskyCore
import Testing

@testable import KandinskyCalibration

/// Every input form of ``CalibrationInput`` against the equivalent one-hot two-channel input
/// built here by hand, and its clamping and errors.
@Suite struct CalibrationInputTests {
    /// A binary segmentation: sigmoid outputs p [N, 1, H, W] (with exact 0, 1, tiny values and
    /// values on both sides of ½) and labels [N, H, W] in {0, 1}.
    struct Binary {
        let n = 12, h = 4, w = 5
        var plane: Int { h * w }
        var p: [Float] = []
        var labels: [Int] = []

        init(seed: UInt64) {
            var generator = SeededGenerator(seed: seed)
            for i in 0..<(n * h * w) {
                let u = generator.nextUnitFloat()
                let value: Float =
                    switch i % 9 {
                    case 0: 0
                    case 1: 1
                    case 2: 1e-9 * u
                    case 3: 1 - 1e-6 * u
                    default: u
                    }
                p.append(value)
                labels.append(generator.nextUnitFloat() < value ? 1 : 0)
            }
        }

        /// [N, 2, H, W] values: `background(p)` in channel 0, `foreground(p)` in channel 1.
        func twoChannel<S>(_ background: (Float) -> S, _ foreground: (Float) -> S) -> [S] {
            var out: [S] = []
            for image in 0..<n {
                out += p[(image * plane)..<((image + 1) * plane)].map(background)
                out += p[(image * plane)..<((image + 1) * plane)].map(foreground)
            }
            return out
        }

        /// The reference form: Float32 [N, 2, H, W] with channel 0 = 1 − p in Float32.
        var referenceProbabilities: Tensor { Tensor(shape: [n, 2, h, w], scalars: twoChannel({ 1 - $0 }, { $0 })) }

        /// One-hot [N, 2, H, W] of the labels.
        var referenceTargets: ShapedArray<UInt8> {
            var out: [UInt8] = []
            for image in 0..<n {
                let l = labels[(image * plane)..<((image + 1) * plane)]
                out += l.map { $0 == 0 ? 1 : 0 }
                out += l.map { $0 == 1 ? 1 : 0 }
            }
            return ShapedArray(shape: [n, 2, h, w], scalars: out)
        }

        var singleChannelShape: [Int] { [n, 1, h, w] }
        var labelShape: [Int] { [n, h, w] }
    }

    /// The raw bytes of an array, so that NaN curves compare equal to NaN curves.
    static func bits<S>(_ array: ShapedArray<S>) -> [UInt8] { array.withUnsafeBytes { Array($0) } }

    static func input(_ p: AnyShapedArray, _ t: AnyShapedArray? = nil) throws -> CalibrationInput {
        try CalibrationInput(probabilities: p, targets: t, probabilitiesSource: "p.npy", targetsSource: "t.npy")
    }

    /// Curves of pixelwise, imagewise and k-means calibration, and sets at two α, of `input`,
    /// compared bit for bit with those of the reference arrays, in both score precisions.
    static func expectSameCalibration(
        _ input: CalibrationInput, as probabilities: ProbabilityArray, _ targets: ShapedArray<UInt8>,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(input.shape == probabilities.shape, sourceLocation: sourceLocation)
        let sameTargets = try #require(input.targets) == targets
        #expect(sameTargets, sourceLocation: sourceLocation)
        func store(_ p: ProbabilityArray, _ t: ShapedArray<UInt8>, _ precision: ScorePrecision) throws -> ScoreStore {
            switch p {
            case .float32(let p): try ScoreStore(probabilities: p, targets: t, precision: precision)
            case .float16(let p): try ScoreStore(probabilities: p, targets: t, precision: precision)
            }
        }
        func sets(_ curves: CalibratedCurves, _ p: ProbabilityArray, _ alpha: Double) throws -> ShapedArray<UInt8> {
            switch p {
            case .float32(let p): try curves.predictionSets(probabilities: p, alpha: alpha)
            case .float16(let p): try curves.predictionSets(probabilities: p, alpha: alpha)
            }
        }
        for precision in ScorePrecision.allCases {
            let given = try store(input.probabilities, input.targets!, precision)
            let reference = try store(probabilities, targets, precision)
            let groupings: [any NonconformityGrouping] = [
                PixelwiseGrouping(), ImagewiseGrouping(),
                KMeansGrouping(clusterCount: 2, curvePoints: [20, 30]),
            ]
            for grouping in groupings {
                let a = try grouping.calibrate(given, levelCount: 40)
                let b = try grouping.calibrate(reference, levelCount: 40)
                let sameCurves = bits(a.curves) == bits(b.curves)
                #expect(sameCurves, "\(grouping.name), \(precision)", sourceLocation: sourceLocation)
                for alpha in [0.1, 0.3] {
                    let sameSets = try sets(a, input.probabilities, alpha) == sets(b, probabilities, alpha)
                    #expect(sameSets, "\(grouping.name), \(precision), α = \(alpha)", sourceLocation: sourceLocation)
                }
            }
        }
    }

    // MARK: - Every form gives the reference's curves and sets

    @Test func singleChannelFloat32WithLabelMapsAndMasks() throws {
        let data = Binary(seed: 1)
        let p = AnyShapedArray.float32(Tensor(shape: data.singleChannelShape, scalars: data.p))
        let reference = ProbabilityArray.float32(data.referenceProbabilities)
        let labelForms: [AnyShapedArray] = [
            .int64(ShapedArray(shape: data.labelShape, scalars: data.labels.map { Int64($0) })),
            .int32(ShapedArray(shape: data.labelShape, scalars: data.labels.map { Int32($0) })),
            .uint8(ShapedArray(shape: data.labelShape, scalars: data.labels.map { UInt8($0) })),
            .float32(Tensor(shape: data.labelShape, scalars: data.labels.map { Float($0) })),
            .bool(ShapedArray(shape: data.labelShape, scalars: data.labels.map { $0 == 1 })),
            .uint8(ShapedArray(shape: data.singleChannelShape, scalars: data.labels.map { UInt8($0) })),
            .float64(ShapedArray(shape: data.singleChannelShape, scalars: data.labels.map { Double($0) })),
            .uint8(data.referenceTargets),
        ]
        for targets in labelForms {
            let input = try Self.input(p, targets)
            #expect(input.isExpandedFromSingleChannel)
            #expect(input.clampedCount == 0 && input.clampingWarning == nil)
            guard case .float32(let expanded) = input.probabilities else {
                Issue.record("Float32 probabilities became \(input.probabilities)")
                continue
            }
            let same = Self.bits(expanded) == Self.bits(data.referenceProbabilities)
            #expect(same, "channel 0 is 1 − p in Float32, channel 1 is p")
            try Self.expectSameCalibration(input, as: reference, data.referenceTargets)
        }
    }

    @Test func singleChannelFloat16StaysFloat16() throws {
        let data = Binary(seed: 2)
        let half = data.p.map { Float16($0) }
        let input = try Self.input(
            .float16(HalfTensor(shape: data.singleChannelShape, scalars: half)),
            .int64(ShapedArray(shape: data.labelShape, scalars: data.labels.map { Int64($0) })))
        // By hand: channel 0 = 1 − p computed in Float16, channel 1 = p.
        var reference: [Float16] = []
        for image in 0..<data.n {
            let slice = half[(image * data.plane)..<((image + 1) * data.plane)]
            reference += slice.map { 1 - $0 }
            reference += slice
        }
        let referenceTensor = HalfTensor(shape: [data.n, 2, data.h, data.w], scalars: reference)
        guard case .float16(let expanded) = input.probabilities else {
            Issue.record("Float16 probabilities became \(input.probabilities)")
            return
        }
        let same = Self.bits(expanded) == Self.bits(referenceTensor)
        #expect(same, "channel 0 is 1 − p in Float16, channel 1 is p")
        try Self.expectSameCalibration(input, as: .float16(referenceTensor), data.referenceTargets)
    }

    @Test func float64ProbabilitiesAndTargetsAreNarrowedToFloat32() throws {
        let data = Binary(seed: 3)
        // Float64 values in [0, 1] that are not Float32 values: the reference is their Float32
        // rounding.
        let wide = data.p.map { Double($0) * ($0 < 0.5 ? 1 + 1e-12 : 1 - 1e-12) }
        let narrow = wide.map { Float($0) }
        var twoWide: [Double] = []
        var twoNarrow: [Float] = []
        for image in 0..<data.n {
            let slice = (image * data.plane)..<((image + 1) * data.plane)
            twoWide += wide[slice].map { 1 - $0 } + wide[slice]
            twoNarrow += wide[slice].map { Float(1 - $0) } + narrow[slice]
        }
        let targets = data.referenceTargets
        let twoChannel = try Self.input(
            .float64(ShapedArray(shape: [data.n, 2, data.h, data.w], scalars: twoWide)),
            .float64(targets.map { Double($0) }))
        #expect(!twoChannel.isExpandedFromSingleChannel && twoChannel.clampedCount == 0)
        try Self.expectSameCalibration(
            twoChannel, as: .float32(Tensor(shape: [data.n, 2, data.h, data.w], scalars: twoNarrow)), targets)

        // Single-channel Float64: narrowed first, then 1 − p in Float32 (as for its Float32 file).
        let single = try Self.input(
            .float64(ShapedArray(shape: data.singleChannelShape, scalars: wide)),
            .bool(ShapedArray(shape: data.singleChannelShape, scalars: data.labels.map { $0 == 1 })))
        var reference: [Float] = []
        for image in 0..<data.n {
            let slice = narrow[(image * data.plane)..<((image + 1) * data.plane)]
            reference += slice.map { 1 - $0 } + slice
        }
        try Self.expectSameCalibration(
            single, as: .float32(Tensor(shape: [data.n, 2, data.h, data.w], scalars: reference)), targets)
    }

    @Test func boolAndNumericOneHotTargets() throws {
        let data = Binary(seed: 4)
        let p = data.referenceProbabilities
        let t = data.referenceTargets
        for targets: AnyShapedArray in [
            .bool(t.map { $0 == 1 }), .int64(t.map { Int64($0) }), .float16(t.map { Float16($0) }),
        ] {
            let input = try Self.input(.float32(p), targets)
            #expect(!input.isExpandedFromSingleChannel)
            try Self.expectSameCalibration(input, as: .float32(p), t)
        }
    }

    @Test func labelMapsOfThreeClasses() throws {
        // [1, 3, 1, 4]: pixel j has label j % 3 (0, 1, 2, 0).
        let p = Tensor(shape: [1, 3, 1, 4], scalars: [0.5, 0.2, 0.1, 0.6, 0.25, 0.7, 0.2, 0.3, 0.25, 0.1, 0.7, 0.1])
        let input = try Self.input(.float32(p), .int64(ShapedArray(shape: [1, 1, 4], scalars: [0, 1, 2, 0])))
        #expect(input.targets?.scalars == [1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0])
        #expect(input.shape == [1, 3, 1, 4])
    }

    // MARK: - Rounding of the background channel

    @Test func backgroundScoreIsTheForegroundProbability() throws {
        // Documented: 1 − p is exact for p ≥ ½, so the background's score 1 − (1 − p) is p;
        // below ½ they differ by at most 2⁻²⁵.
        var generator = SeededGenerator(seed: 5)
        let p = (0..<2000).map { i in
            i % 2 == 0 ? 0.5 + 0.5 * generator.nextUnitFloat() : 0.5 * generator.nextUnitFloat()
        }
        let input = try Self.input(.float32(Tensor(shape: [1, 1, 1, 2000], scalars: p)))
        guard case .float32(let expanded) = input.probabilities else {
            Issue.record("not Float32")
            return
        }
        let background = Array(expanded.scalars[0..<2000])
        let foreground = Array(expanded.scalars[2000...])
        let same = foreground.map(\.bitPattern) == p.map(\.bitPattern)
        #expect(same, "channel 1 is the input bit for bit")
        for (q, value) in zip(background, p) {
            let score = 1 - q
            if value >= 0.5 {
                #expect(score == value, "p = \(value)")
            } else {
                #expect(abs(Double(score) - Double(value)) <= 0x1p-25, "p = \(value)")
            }
        }
    }

    // MARK: - No copies when nothing changes

    @Test func inRangeFloat32AndByteTargetsAreNotCopied() throws {
        let p = Tensor(shape: [2, 2, 2, 2], scalars: (0..<16).map { Float($0) / 15 })
        let t = ShapedArray<UInt8>(shape: [2, 2, 2, 2], scalars: (0..<16).map { UInt8($0 % 2) })
        let input = try Self.input(.float32(p), .uint8(t))
        guard case .float32(let same) = input.probabilities, let targets = input.targets else {
            Issue.record("unexpected form")
            return
        }
        #expect(same.withUnsafeBufferPointer { $0.baseAddress } == p.withUnsafeBufferPointer { $0.baseAddress })
        #expect(targets.withUnsafeBufferPointer { $0.baseAddress } == t.withUnsafeBufferPointer { $0.baseAddress })
    }

    // MARK: - Clamping

    @Test func valuesWithinTheToleranceAreClampedAndCounted() throws {
        // Exact binary excursions: k·2⁻²³ above 1 or below 0; 80·2⁻²³ ≈ 9.54e-6 is the largest
        // within 1e-5.
        var values = [Float](repeating: 0.5, count: 32)
        values[3] = 1 + 16 * 0x1p-23
        values[7] = 1 + 80 * 0x1p-23
        values[11] = -0x1p-23
        values[20] = -40 * 0x1p-23
        values[25] = -Float.leastNonzeroMagnitude
        let original = Tensor(shape: [2, 2, 2, 4], scalars: values)
        let input = try Self.input(.float32(original))
        #expect(input.clampedCount == 5)
        #expect(input.largestClampedExcursion == 80 * 0x1p-23)
        #expect(input.clampingWarning == "p.npy: clamped 5 probabilities outside [0, 1] by at most 9.6e-06")
        var expected = values
        expected[3] = 1
        expected[7] = 1
        expected[11] = 0
        expected[20] = 0
        expected[25] = 0
        #expect(input.probabilities.float32.scalars.map(\.bitPattern) == expected.map(\.bitPattern))
        // The caller's array is left as it was (copy on write).
        #expect(original.scalars[7] == 1 + 80 * 0x1p-23)

        // Single-channel: clamped once, then expanded; Float16 and Float64 are clamped as well.
        let single = try Self.input(.float32(Tensor(shape: [1, 1, 1, 3], scalars: [1 + 0x1p-20, 0.25, -0x1p-21])))
        #expect(single.clampedCount == 2)
        #expect(single.largestClampedExcursion == 0x1p-20)
        #expect(single.probabilities.float32.scalars == [0, 0.75, 1, 1, 0.25, 0])
        let half = try Self.input(
            .float16(HalfTensor(shape: [1, 2, 1, 1], scalars: [-Float16.leastNonzeroMagnitude, 1])))
        #expect(half.clampedCount == 1)
        #expect(half.clampingWarning == "p.npy: clamped 1 probability outside [0, 1] by at most 6e-08")
        guard case .float16(let halfValues) = half.probabilities else {
            Issue.record("Float16 probabilities became \(half.probabilities)")
            return
        }
        #expect(halfValues.scalars.map(\.bitPattern) == [0, Float16(1).bitPattern])
        // A Float64 excursion too small to survive narrowing is still counted.
        let wide = try Self.input(.float64(ShapedArray(shape: [1, 2, 1, 2], scalars: [1 + 1e-9, 0.5, -3e-6, 0.5])))
        #expect(wide.clampedCount == 2)
        #expect(wide.largestClampedExcursion == 3e-6)
        #expect(wide.probabilities.float32.scalars == [1, 0.5, 0, 0.5])
    }

    @Test func valuesBeyondTheToleranceOrNaNAreErrors() {
        var values = [Float](repeating: 0.5, count: 16)
        values[2] = 1 + 8 * 0x1p-23  // clamped
        values[9] = 1 + 84 * 0x1p-23  // ≈ 1.0014e-5 outside: an error
        expectCalibrationError(.invalidProbability, mentioning: "p.npy", "1.00001", "[1, 0, 0, 1]") {
            try Self.input(.float32(Tensor(shape: [2, 2, 1, 4], scalars: values)))
        }
        expectCalibrationError(.invalidProbability, mentioning: "-2e-05", "[0, 0, 0, 1]") {
            try Self.input(.float32(Tensor(shape: [1, 1, 1, 3], scalars: [0.5, -2e-5, .nan])))
        }
        expectCalibrationError(.invalidProbability, mentioning: "nan", "[0, 0, 0, 2]") {
            try Self.input(.float32(Tensor(shape: [1, 1, 1, 3], scalars: [0.5, 1, .nan])))
        }
        expectCalibrationError(.invalidProbability, mentioning: "1.0009766", "[0, 1, 0, 0]") {
            try Self.input(.float16(HalfTensor(shape: [1, 2, 1, 1], scalars: [1, Float16(1).nextUp])))
        }
        expectCalibrationError(.invalidProbability, mentioning: "1.000011", "[0, 0, 0, 0]") {
            try Self.input(.float64(ShapedArray(shape: [1, 2, 1, 1], scalars: [1.000011, 0.5])))
        }
    }

    // MARK: - Target errors

    @Test func labelsOutOfRangeNameTheFileIndexAndValue() {
        let p = AnyShapedArray.float32(Tensor(shape: [2, 2, 3, 4], repeating: 0.5))
        var labels = [Int64](repeating: 1, count: 24)
        labels[23] = 2
        expectCalibrationError(.invalidTarget, mentioning: "t.npy", "0..<2", "found 2", "[1, 2, 3]") {
            try Self.input(p, .int64(ShapedArray(shape: [2, 3, 4], scalars: labels)))
        }
        labels[23] = 1
        labels[5] = -1
        expectCalibrationError(.invalidTarget, mentioning: "t.npy", "found -1", "[0, 1, 1]") {
            try Self.input(p, .int64(ShapedArray(shape: [2, 3, 4], scalars: labels)))
        }
        var fractional = [Float](repeating: 0, count: 24)
        fractional[13] = 0.5
        expectCalibrationError(.invalidTarget, mentioning: "found 0.5", "[1, 0, 1]") {
            try Self.input(p, .float32(Tensor(shape: [2, 3, 4], scalars: fractional)))
        }
        // Single-channel probabilities have two classes after expansion.
        expectCalibrationError(.invalidTarget, mentioning: "0..<2", "found 3", "[0, 0, 0]") {
            try Self.input(
                .float32(Tensor(shape: [1, 1, 1, 2], repeating: 0.5)),
                .uint8(ShapedArray(shape: [1, 1, 2], scalars: [3, 0])))
        }
        expectCalibrationError(.invalidTarget, mentioning: "0 or 1", "2", "[0, 0, 0, 1]") {
            try Self.input(
                .float32(Tensor(shape: [1, 1, 1, 2], repeating: 0.5)),
                .int32(ShapedArray(shape: [1, 1, 1, 2], scalars: [1, 2])))
        }
        expectCalibrationError(.invalidTarget, mentioning: "0 or 1", "0.5", "[0, 1, 0, 0]") {
            try Self.input(
                .float32(Tensor(shape: [1, 2, 1, 1], repeating: 0.5)),
                .float64(ShapedArray(shape: [1, 2, 1, 1], scalars: [1, 0.5])))
        }
        expectCalibrationError(.invalidTarget, mentioning: "0 or 1", "7", "[0, 0, 0, 1]") {
            try Self.input(
                .float32(Tensor(shape: [1, 2, 1, 2], repeating: 0.5)),
                .uint8(ShapedArray(shape: [1, 2, 1, 2], scalars: [1, 7, 0, 0])))
        }
    }

    @Test func targetShapesThatFitNoFormNameBothShapes() {
        let p = AnyShapedArray.float32(Tensor(shape: [2, 2, 3, 4], repeating: 0.5))
        expectCalibrationError(.shapeMismatch, mentioning: "t.npy", "label map", "[2, 3, 5]", "[2, 2, 3, 4]", "p.npy") {
            try Self.input(p, .int64(ShapedArray(shape: [2, 3, 5], repeating: 0)))
        }
        expectCalibrationError(.shapeMismatch, mentioning: "t.npy", "[3, 3, 4]", "[2, 3, 4]") {
            try Self.input(p, .int64(ShapedArray(shape: [3, 3, 4], repeating: 0)))
        }
        // A mask [N, 1, H, W] only goes with single-channel probabilities.
        expectCalibrationError(.shapeMismatch, mentioning: "t.npy", "[2, 1, 3, 4]", "[2, 2, 3, 4]") {
            try Self.input(p, .uint8(ShapedArray(shape: [2, 1, 3, 4], repeating: 0)))
        }
        expectCalibrationError(.shapeMismatch, mentioning: "[2, 2, 3, 5]", "[2, 2, 3, 4]") {
            try Self.input(p, .uint8(ShapedArray(shape: [2, 2, 3, 5], repeating: 0)))
        }
        expectCalibrationError(.shapeMismatch, mentioning: "[24]") {
            try Self.input(p, .uint8(ShapedArray(shape: [24], repeating: 0)))
        }
    }

    @Test func probabilitiesOfAnotherTypeRankOrEmptyAreErrors() {
        expectCalibrationError(.invalidProbability, mentioning: "p.npy", "dtype", "U8") {
            try Self.input(.uint8(ShapedArray(shape: [1, 1, 1, 1], scalars: [1])))
        }
        expectCalibrationError(.shapeMismatch, mentioning: "p.npy", "rank-4", "[2, 3]") {
            try Self.input(.float32(Tensor(shape: [2, 3], repeating: 0.5)))
        }
        expectCalibrationError(.emptyInput, mentioning: "p.npy", "[0, 1, 3, 3]") {
            try Self.input(
                .float32(Tensor(shape: [0, 1, 3, 3], repeating: 0)),
                .uint8(ShapedArray(shape: [0, 3, 3], repeating: 0)))
        }
    }
}
