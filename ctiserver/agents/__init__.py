"""Agents: accounts, work states, sign-in/busy/ready/sign-out."""
