func runModelBenchmarks() throws {}
