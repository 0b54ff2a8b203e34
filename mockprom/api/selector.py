"""Series selectors as the API reads ``match[]`` and ``match_target``: Prometheus 2.42's
``parser.ParseMetricSelector``, which lives in the PromQL layer
(``mockprom.promql.parse.parse_metric_selector``) and is shared with ``/federate``.

What the API adds is in ``mockprom.api.params``: ``parseMatchersParam``'s refusal of a
selector all of whose matchers match the empty string (``match[] must contain at least
one non-empty matcher``; ``/federate`` and ``delete_series`` do not check that) and each
endpoint's wrapping of the error (``invalid parameter "match[]": ...`` or bare)."""

from __future__ import annotations

from flask import has_app_context

from mockprom.promql.parse import parse_metric_selector as _parse


def parse_metric_selector(text: str, emulation=None) -> list:
    """The matchers of a series selector, read as ``emulation`` (by default the serving
    app's emulated Prometheus) reads it; raises ``ParseError`` worded as that Prometheus."""
    if emulation is None and has_app_context():
        from mockprom.api.context import get_state

        emulation = get_state().settings.emulation
    return list(_parse(text, emulation))
