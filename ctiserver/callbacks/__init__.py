"""Callbacks that keep the caller's place in line (virtual hold).

A caller waiting in a queue presses the queue's exit key (``context=`` of queues.conf), the IVR
takes the number to call back and tells the server (UserEvent ``CtiCallback``); the caller hangs
up. The callback stands in the queue's order at the caller's original join time: when its turn
comes the server reserves a ready agent (a queue pause with the reason ``callback``), rings the
agent's phone (``Originate`` into ``cti-callback``) with a pop marked "callback", and once the
agent answers the dialplan dials the caller. Unanswered or busy: retried, then a work order for
a manual callback.

``model.py`` the callback and its states; ``scheduler.py`` whose turn it is (pure); ``repo.py``
PostgreSQL (migration 008) with writes retried while it is away; ``service.py`` what Asterisk's
events and the agents' changes do; ``routes.py`` the API. README "Callbacks".
"""
