"""Ingestion and scrape faces: remote write (``remote_write``), Pushgateway semantics
(``pushgateway``, ``pushed_source``, ``textformat``), ``/federate`` (``exposition``) and
mockprom's own metrics (``selfmetrics``). The Flask side is ``mockprom.api.write``."""
