"""Complaint early warning: thresholds, warnings, statistics (seed 001)."""
