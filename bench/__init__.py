"""pumpguard benchmarks: they measure and report, they never assert a machine-dependent time."""
