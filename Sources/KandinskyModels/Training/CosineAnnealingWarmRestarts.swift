import Foundation

/// Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter 2017), as PyTorch's
/// `CosineAnnealingWarmRestarts` stepped once per epoch:
/// `η(e) = η_min + (η_0 − η_min)·(1 + cos(π·T_cur/T_i))/2`, where the i-th cycle lasts
/// `T_i = T_0·T_mult^i` epochs and `T_cur` counts the epochs since the last restart.
///
/// The defaults (T_0 = 15, T_mult = 1, η_min = 0) are those of the Kandinsky paper's training.
public struct CosineAnnealingWarmRestarts: Sendable, Equatable {
    /// η_0, the rate at the start of every cycle.
    public var baseLearningRate: Double
    /// T_0, the epochs in the first cycle.
    public var firstCycleLength: Int
    /// T_mult, the factor by which each cycle is longer than the previous one.
    public var cycleGrowth: Int
    /// η_min, the rate approached at the end of each cycle.
    public var minimumLearningRate: Double

    /// - Precondition: T_0 ≥ 1, T_mult ≥ 1.
    public init(
        baseLearningRate: Double, firstCycleLength: Int = 15, cycleGrowth: Int = 1, minimumLearningRate: Double = 0
    ) {
        precondition(
            firstCycleLength >= 1 && cycleGrowth >= 1,
            "cycle length and growth must be at least 1, got \(firstCycleLength) and \(cycleGrowth)")
        self.baseLearningRate = baseLearningRate
        self.firstCycleLength = firstCycleLength
        self.cycleGrowth = cycleGrowth
        self.minimumLearningRate = minimumLearningRate
    }

    /// η for the 0-based `epoch`. - Complexity: O(log epoch).
    public func learningRate(atEpoch epoch: Int) -> Double {
        precondition(epoch >= 0, "epoch must be non-negative, got \(epoch)")
        var sinceRestart = epoch
        var cycle = firstCycleLength
        while sinceRestart >= cycle {
            sinceRestart -= cycle
            cycle *= cycleGrowth
        }
        return minimumLearningRate + (baseLearningRate - minimumLearningRate)
            * (1 + cos(Double.pi * Double(sinceRestart) / Double(cycle))) / 2
    }
}
