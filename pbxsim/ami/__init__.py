"""The AMI server: the wire protocol, sessions, and the actions offered over it."""
