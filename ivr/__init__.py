"""FastAGI IVR: executes menu trees that are data (ivr/menus/*.toml) for Asterisk callers.

``IvrServer(store=None, menu=None, host="127.0.0.1", port=4573)``: ``await start()``,
``.port``, ``await stop()``; ``python -m ivr`` runs it on its own.
"""


def __getattr__(name: str):
    if name in ("IvrServer", "IvrSession"):
        from ivr import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
