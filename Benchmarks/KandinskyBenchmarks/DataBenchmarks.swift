func runDataBenchmarks() throws {}
