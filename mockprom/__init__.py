"""mockprom: a mock of the Prometheus HTTP API for testing the software that talks to Prometheus."""

__version__ = "0.1.0"


def __getattr__(name: str):
    # ``from mockprom import MockPrometheus`` without making ``import mockprom`` (the CLI's
    # version, the pytest plugin's registration) load the server.
    if name == "MockPrometheus":
        from mockprom.server import MockPrometheus

        return MockPrometheus
    raise AttributeError(f"module 'mockprom' has no attribute {name!r}")
