"""A stand-in for Asterisk 22 (AMI over TCP, dialplan, queues, FastAGI) for tests and the demo.

``PbxSim(SimConfig(conf_dir=...))``, ``await start()``, ``.ami_port``, ``set_phone(endpoint,
Phone(...))``, ``await place_call(CallerScript(...)) -> CallHandle``, ``await stop()``;
``python -m pbxsim --conf asterisk_conf --ami-port 5038 --agi 127.0.0.1:4573 --demo-rate 2/min``.
``await sim.phone_hold(endpoint, held)``, ``await sim.restart()``, ``sim.truth()`` (shape: README.md).
"""

from .scripts import CallerScript, Phone
from pbxsim.sim import CallHandle, PbxSim, SimConfig

__all__ = ["CallHandle", "CallerScript", "PbxSim", "Phone", "SimConfig"]
