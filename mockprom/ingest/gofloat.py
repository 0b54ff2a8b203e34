"""Former home of Go's shortest ``%g`` formatting: it now lives in ``mockprom.gofloat``
(``format_g``). This name remains only for ``ingest/exposition.py``,
``ingest/pushgateway.py`` and ``tests/test_ingest_federate.py``, which still import it;
delete this module once they import ``mockprom.gofloat.format_g`` directly."""

from mockprom.gofloat import format_g as format_go_g

__all__ = ["format_go_g"]
