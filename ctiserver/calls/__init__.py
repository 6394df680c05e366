"""Calls: legs keyed by Uniqueid, calls by Linkedid, built from AMI events."""
