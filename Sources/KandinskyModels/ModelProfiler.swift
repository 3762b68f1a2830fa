import Foundation
import Synchronization

/// Opt-in accounting of where a network's time goes, for benchmarks: off by default, when off
/// it costs one atomic load per layer call.
///
/// Layer-level categories count wall-clock seconds on the calling thread. The two convolution
/// sub-categories (``Category/convolutionGEMM`` and ``Category/im2col``) count seconds summed
/// over worker threads, so their ratio splits ``Category/convolution``'s wall-clock time.
package enum ModelProfiler {
    /// Where time is counted.
    package enum Category: Int, CaseIterable, Sendable, CustomStringConvertible {
        /// Convolution layers, forward and backward (wall-clock).
        case convolution
        /// GEMMs inside convolutions (summed over threads).
        case convolutionGEMM
        /// im2col, col2im, padding and Winograd transforms inside convolutions (summed over threads).
        case im2col
        /// Instance normalisation (wall-clock).
        case normalisation
        /// ReLU, dropout, pooling, upsampling, concatenation and gradient sums (wall-clock).
        case elementwise
        /// The top-k loss and its gradient (wall-clock).
        case loss
        /// Adam updates (wall-clock).
        case optimizer

        /// A short label for benchmark output.
        package var description: String {
            switch self {
            case .convolution: "convolution"
            case .convolutionGEMM: "convolution GEMMs"
            case .im2col: "im2col/transforms"
            case .normalisation: "normalisation"
            case .elementwise: "elementwise"
            case .loss: "loss"
            case .optimizer: "optimizer"
            }
        }
    }

    private static let enabled = Atomic<Bool>(false)
    private static let totals = Mutex<[Double]>(Array(repeating: 0, count: Category.allCases.count))

    /// Whether time is being recorded.
    package static var isEnabled: Bool {
        get { enabled.load(ordering: .relaxed) }
        set { enabled.store(newValue, ordering: .relaxed) }
    }

    /// Sets every total to zero.
    package static func reset() {
        totals.withLock { $0 = Array(repeating: 0, count: Category.allCases.count) }
    }

    /// Seconds recorded per category since the last ``reset()``.
    package static func snapshot() -> [Category: Double] {
        let values = totals.withLock { $0 }
        return Dictionary(uniqueKeysWithValues: Category.allCases.map { ($0, values[$0.rawValue]) })
    }

    /// Runs `body`, adding its duration to `category` when profiling is on.
    @inline(__always)
    static func measure<R>(_ category: Category, _ body: () throws -> R) rethrows -> R {
        guard isEnabled else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            totals.withLock { $0[category.rawValue] += seconds }
        }
        return try body()
    }
}
