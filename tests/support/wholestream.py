"""A configuration whose AMI user gets Asterisk's whole event stream, for tests that compare it.

asterisk_conf/manager.conf gives the CTI server's user ``eventfilter`` lines, so Asterisk
(and the simulator, which honours them: pbxsim/ami/filters.py) sends it only the events the
server reads. Tests that check the simulator event by event against what Asterisk does
(MusicOnHold*, BridgeDestroy, DialBegin, Confbridge*...) read the stream a recorder reads:
the same configuration with the ``eventfilter`` lines left out (``read =`` classes kept).
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path


def without_eventfilters(text: str) -> str:
    """manager.conf text minus its ``eventfilter`` lines."""
    return "".join(line for line in text.splitlines(keepends=True) if not line.lstrip().startswith("eventfilter"))


@functools.cache
def whole_stream(conf_dir: str | Path) -> Path:
    """A copy of ``conf_dir`` (made once per test process) whose manager.conf has no eventfilter."""
    root = Path(tempfile.mkdtemp(prefix="cti-wholestream-"))
    atexit.register(shutil.rmtree, root, True)
    copy = root / Path(conf_dir).name
    shutil.copytree(conf_dir, copy)
    manager = copy / "manager.conf"
    if manager.exists():
        manager.write_text(without_eventfilters(manager.read_text(encoding="utf-8")), encoding="utf-8")
    return copy
