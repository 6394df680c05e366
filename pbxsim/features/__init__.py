"""Features: Local channels, transfers, ConfBridge, ChanSpy, MixMonitor, moves; each registers on the kernel."""
