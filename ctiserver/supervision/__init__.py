"""Supervision: a supervisor listens to, whispers to, barges into or intercepts an agent's live call.

``model.py`` the monitoring session; ``service.py`` the commands and what Asterisk's events
say of them; ``routes.py`` the API. Which AMI action each button uses, and why: README
"Supervision".
"""
