"""ItemHub benchmarks: command throughput, rebuild speed and change-feed latency."""
