// Runs the benchmarks of the modules named on the command line (all when none is):
//   swift run -c release kandinsky-benchmarks [core] [calibration] [models] [data] [manifest]
// and, only when named, the coverage simulation of every grouping under both rules:
//   swift run -c release kandinsky-benchmarks coverage
let groups: [(name: String, run: () throws -> Void)] = [
    ("core", runCoreBenchmarks),
    ("calibration", runCalibrationBenchmarks),
    ("models", runModelBenchmarks),
    ("data", runDataBenchmarks),
    ("manifest", runManifestBenchmarks),
]
let onRequest: [(name: String, run: () throws -> Void)] = [("coverage", runCoverageTable)]
let requested = Set(CommandLine.arguments.dropFirst())
for group in groups where requested.isEmpty || requested.contains(group.name) {
    print("== \(group.name) ==")
    try group.run()
}
for group in onRequest where requested.contains(group.name) {
    print("== \(group.name) ==")
    try group.run()
}
