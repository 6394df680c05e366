"""The call tracker's fold, one module per concern; ``calls.tracker.CallTracker`` is its public face.

``state`` holds the live calls and legs; ``channels`` folds channel, dialplan and queue events
and ends legs and calls; ``ivr`` reads the caller's way through the IVR; ``hold``, ``consult``
and ``conference`` follow those features; ``resync`` adopts a snapshot after a (re)login. Each
is plain functions over the state; a module only imports the ones listed after it here:
resync -> channels -> hold -> consult -> conference -> ivr, state.
"""
