"""Helpers shared by the test suites (a throwaway PostgreSQL, ...)."""
