"""Operational metrics in Prometheus text format (``GET /metrics``): what an operator graphs and alerts on."""
