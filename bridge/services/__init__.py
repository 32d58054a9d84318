"""Orchestration over the pure core and the adapters: sync, review, staff, status."""
