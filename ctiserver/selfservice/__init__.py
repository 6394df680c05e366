"""The IVR's self-service steps (``ivr/nodes/selfservice.py``) on the caller's work order."""
