"""Post-call survey: the IVR's ratings (``ivr/nodes/survey.py``) on the work order, the statistics, callbacks."""
