"""Persistence: SQLModel tables, engine set-up, queue queries and migrations."""
