import KandinskyCore
import KandinskyTestSupport
import KandinskyTesting
import Testing

@testable import KandinskyCalibration

/// An example strategy written only against the public protocol: the top and bottom halves of
/// the image are two groups for every class.
struct HalvesGrouping: NonconformityGrouping {
    struct Parameters: Codable, Sendable { var split = "rows" }
    var name: String { "halves" }
    var parameters: Parameters { Parameters() }
    func groups(for input: GroupingInput) throws(CalibrationError) -> PixelGroups {
        let (h, w) = (input.scores.height, input.scores.width)
        let map = ShapedArray<Int32>(shape: [h, w]) { out in
            for p in 0..<(h * w) { out[p] = p / w < h / 2 ? 0 : 1 }
        }
        return PixelGroups(
            labels: Array(repeating: map, count: input.scores.classCount),
            groupCounts: Array(repeating: 2, count: input.scores.classCount))
    }
}

/// Builds the calibrator for a strategy chosen at run time (as the command line does).
func calibrate(
    _ grouping: any NonconformityGrouping, _ scores: ScoreStore, levelCount: Int = 100,
    rule: QuantileRule = .conformal
) throws -> CalibratedCurves {
    func open<G: NonconformityGrouping>(_ g: G) throws -> CalibratedCurves {
        try Calibrator(grouping: g, levelCount: levelCount, rule: rule).calibrate(scores)
    }
    return try open(grouping)
}

enum Strategy: String, CaseIterable, CustomTestStringConvertible {
    case pixel, image, kmeans, annulus, halves
    var testDescription: String { rawValue }

    func make(seed: UInt64 = 0) -> any NonconformityGrouping {
        switch self {
        case .pixel: PixelwiseGrouping()
        case .image: ImagewiseGrouping()
        case .kmeans: KMeansGrouping(restarts: 3, seed: seed)
        case .annulus:
            AnnulusGrouping(
                bounds: [[-2, 2], [-2, 2], [0, 6], [0, 6], [0, 10]], maxGenerations: 30, seed: seed,
                searchSampleSize: 40)
        case .halves: HalvesGrouping()
        }
    }

    /// What the contract allows the strategy for choosing its groups from the same calibration
    /// scores it sets thresholds on (pixels whose curves came out low are grouped together).
    var selectionAllowance: Double { self == .kmeans || self == .annulus ? 0.01 : 0 }

    /// Runs ``expectGroupingKeepsTheContract(selectionAllowance:sourceLocation:_:)`` on the
    /// strategy as its concrete type.
    func expectKeepsTheContract(sourceLocation: SourceLocation = #_sourceLocation) throws -> [GroupingContractReport] {
        func run<G: NonconformityGrouping>(_: G) throws -> [GroupingContractReport] {
            try expectGroupingKeepsTheContract(
                selectionAllowance: selectionAllowance,
                sourceLocation: sourceLocation
            ) { seed in make(seed: seed) as! G }
        }
        return try run(make())
    }
}

/// The contract every `NonconformityGrouping` must satisfy, run unchanged against each built-in
/// strategy and the example strategy above (and, in `ExamplesTests`, against the CustomGrouping
/// example's border bands).
@Suite struct GroupingContractTests {
    /// The contract, and the group counts each strategy is documented to give on 8 × 10 images.
    @Test(arguments: Strategy.allCases)
    func keepsTheContract(strategy: Strategy) throws {
        for report in try strategy.expectKeepsTheContract() {
            #expect(report.grouping == strategy.make().name)
            switch strategy {
            case .pixel: #expect(report.groupCounts == [0, 0])
            case .image: #expect(report.groupCounts == [1, 1])
            case .halves: #expect(report.groupCounts == [2, 2])
            case .kmeans, .annulus: #expect(report.groupCounts.count == 2 && report.groupCounts.allSatisfy { $0 >= 1 })
            }
        }
    }
}
