func runCoreBenchmarks() throws {}
