import KandinskyCore
import Testing

@testable import KandinskyCalibration

@Suite struct DifferentialEvolutionTests {
    @Test func findsTheMinimumOfAShiftedSphere() {
        var generator = SeededGenerator(seed: 11)
        let search = DifferentialEvolution(populationSize: 15, maxGenerations: 400, tolerance: 1e-10)
        let result = search.minimize(
            bounds: [-5...5, -5...5, -5...5],
            objective: { x in
                (x[0] - 1) * (x[0] - 1) + (x[1] + 2) * (x[1] + 2) + (x[2] - 0.5) * (x[2] - 0.5) + 3
            }, using: &generator)
        #expect(abs(result.best[0] - 1) < 1e-3 && abs(result.best[1] + 2) < 1e-3 && abs(result.best[2] - 0.5) < 1e-3)
        #expect(abs(result.bestValue - 3) < 1e-6)
        #expect(result.converged)
    }

    @Test func findsTheRosenbrockValley() {
        var generator = SeededGenerator(seed: 5)
        let search = DifferentialEvolution(populationSize: 20, maxGenerations: 1000, tolerance: 1e-12)
        let result = search.minimize(
            bounds: [-2...2, -2...2],
            objective: { x in
                (1 - x[0]) * (1 - x[0]) + 100 * (x[1] - x[0] * x[0]) * (x[1] - x[0] * x[0])
            }, using: &generator)
        #expect(abs(result.best[0] - 1) < 1e-2 && abs(result.best[1] - 1) < 2e-2, "\(result.best)")
    }

    @Test func bestNeverGetsWorseAndStopsOnTheSpreadRule() {
        var generator = SeededGenerator(seed: 2)
        var bests: [Double] = []
        var spreads: [Double] = []
        let search = DifferentialEvolution(populationSize: 10, maxGenerations: 200, tolerance: 0.5)
        let result = search.minimize(
            bounds: [-10...10, -10...10], evaluate: { $0.map { $0[0] * $0[0] + $0[1] * $0[1] } },
            progress: {
                bests.append($0.bestValue)
                spreads.append($0.spread)
            }, using: &generator)
        #expect(zip(bests, bests.dropFirst()).allSatisfy { $1 <= $0 })
        #expect(result.converged)
        #expect(spreads.last! < 0.5)
        #expect(spreads.dropLast().allSatisfy { $0 >= 0.5 })
        #expect(bests.count == result.generations + 1)
        #expect(result.bestValue == result.values.min())
    }

    @Test func sameSeedSameSearch() {
        func run() -> [Double] {
            var generator = SeededGenerator(seed: 99)
            return DifferentialEvolution(maxGenerations: 30).minimize(
                bounds: [0...1, 0...1], objective: { abs($0[0] - 0.3) + $0[1] }, using: &generator
            ).best
        }
        #expect(run() == run())
    }

    @Test func repairIsAppliedToEveryIndividual() {
        var generator = SeededGenerator(seed: 4)
        var seen: [[Double]] = []
        let bounds: [[Double]] = [[-20, 20], [-20, 20], [0, 150], [0, 150], [0, 300]]
        _ = DifferentialEvolution(maxGenerations: 20, tolerance: 0).minimize(
            bounds: bounds.map { $0[0]...$0[1] }, repair: { AnnulusGrouping.repair($0, bounds: bounds) },
            evaluate: { batch in
                seen += batch
                return batch.map { $0.reduce(0, +) }
            }, using: &generator)
        #expect(seen.count == 10 * 21)
        for theta in seen {
            #expect(theta[2] <= theta[3] && theta[3] <= theta[4], "\(theta)")
            #expect(zip(theta, bounds).allSatisfy { $0 >= $1[0] && $0 <= $1[1] }, "\(theta)")
        }
    }
}
