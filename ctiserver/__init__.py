"""Contact-center CTI server for Asterisk."""
