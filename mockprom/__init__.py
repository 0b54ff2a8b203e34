"""mockprom: a mock of the Prometheus HTTP API for testing the software that talks to Prometheus."""

__version__ = "0.1.0"
