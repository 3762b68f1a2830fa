import KandinskyCalibration
import KandinskyCore
import KandinskyData
import KandinskyExperiments
import KandinskyModels
import KandinskyPlots

// Uses the public API the way a dependent package would, and fails loudly if it misbehaves.
let scores = Tensor(shape: [5, 1], scalars: [0.5, 0.1, 0.4, 0.2, 0.3])
let median = scores.nanQuantiles(levels: [0.5], alongAxis: 0)[0, 0]
guard median == 0.3 else { fatalError("expected a median of 0.3, got \(median)") }
print("Kandinsky \(KandinskyVersion.string) imported; median of five scores = \(median)")

// The built-in configurations are a resource of KandinskyExperiments: they must travel with it.
let config = try ConfigComposer.builtIn.compose(primary: "calibrate", overrides: ["calibration.method=kmeans"])
let method = try config.string("calibration.method")
guard method == "kmeans" else { fatalError("expected the override to select kmeans, got \(method)") }
print("built-in calibrate config composed; calibration.method = \(method)")

// Figures come from KandinskyPlots; PNGs from KandinskyData's libpng writer underneath.
let png = HeatMap(range: 0...1, title: "check").png(Tensor(shape: [2, 2], scalars: [0, 0.25, 0.5, 1]))
guard png.starts(with: [0x89, 0x50, 0x4E, 0x47]) else { fatalError("HeatMap did not write a PNG") }
print("KandinskyPlots drew a \(png.count)-byte heat map")
