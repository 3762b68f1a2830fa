func runCalibrationBenchmarks() throws {}
