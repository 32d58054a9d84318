"""nDelius-like and ViSOR-like simulators for the demo, tests and benchmarks."""
