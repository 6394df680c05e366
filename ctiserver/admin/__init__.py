"""Administration of people (agents, supervisors, back-office handlers, admins), queues and busy reasons."""
