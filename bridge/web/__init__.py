"""The web service: pages and JSON API over the services."""
