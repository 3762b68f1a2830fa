import KandinskyCalibration
import KandinskyCore
import KandinskyData
import KandinskyModels

// Uses the public API the way a dependent package would, and fails loudly if it misbehaves.
let scores = Tensor(shape: [5, 1], scalars: [0.5, 0.1, 0.4, 0.2, 0.3])
let median = scores.nanQuantiles(levels: [0.5], alongAxis: 0)[0, 0]
guard median == 0.3 else { fatalError("expected a median of 0.3, got \(median)") }
print("Kandinsky \(KandinskyVersion.string) imported; median of five scores = \(median)")
