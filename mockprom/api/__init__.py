"""The Prometheus HTTP API endpoints as Flask blueprints."""
