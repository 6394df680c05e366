"""The simulator's kernel: events, the channel and bridge registry, devices, and the hooks features use.

Engines (dialplan, queues, Dial) and features (Local channels, Atxfer, ConfBridge, ...)
work on a :class:`pbxsim.kernel.kernel.Kernel`; the kernel imports neither.
"""
