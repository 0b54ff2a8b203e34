"""Label sets of remote-write series read in bulk (the fast decodes of 1.0 and 2.0), from a
request's label names and values as flat sequences.

A series' names, as sent (a tuple, usually the same for every series of a request), key
a cache of *shapes*: names valid as legacy label names, none twice, a metric name among
them, and the order that sorts them by name. A series' labels are its ``(name, value)``
pairs in that order, each pair one tuple shared by every series that has it (``PAIRS``:
less memory, fewer objects). Only label sets valid under every policy of
``acceptance.label_problem`` are read so; anything else raises ``Unusual`` and the
caller's reference decode answers.
"""

from __future__ import annotations

import re
from operator import itemgetter

from mockprom.scenario.labels import METRIC_NAME

LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
CACHE_MAX = 200_000
# PAIRS is emptied at this size: a small table is faster to look up (requests of new
# series bring mostly pairs seen once), and the pairs that recur come back at once
PAIRS_MAX = 32_768

SHAPES: dict[tuple, tuple] = {}  # a series' label names as sent -> (metric index, order)
PAIRS: dict[tuple, tuple] = {}  # (name, value) -> the same pair, shared by the series having it
METRIC_NAMES: dict[str, bool] = {}  # metric names seen valid


class Unusual(Exception):
    """Labels (or a request) the fast path does not read (the reference decode answers)."""


def shape(sig: tuple) -> tuple:
    """``(index of the metric name, the itemgetter that sorts by name or None)`` of a
    series' label names, cached; raises ``Unusual`` for names this path does not take."""
    found = SHAPES.get(sig)
    if found is not None:
        return found
    if METRIC_NAME not in sig or len(set(sig)) != len(sig) \
            or not all(LABEL_NAME_RE.fullmatch(n) for n in sig):
        raise Unusual()
    order = sorted(range(len(sig)), key=sig.__getitem__)
    getter = None if order == list(range(len(sig))) else itemgetter(*order)
    found = (sig.index(METRIC_NAME), getter)
    if len(SHAPES) >= CACHE_MAX:
        SHAPES.clear()
    SHAPES[sig] = found
    return found


def check_metric(metric: str) -> None:
    """Raise ``Unusual`` unless ``metric`` is a valid legacy metric name (cached)."""
    if metric in METRIC_NAMES:
        return
    if not METRIC_NAME_RE.fullmatch(metric):
        raise Unusual()
    if len(METRIC_NAMES) >= CACHE_MAX:
        METRIC_NAMES.clear()
    METRIC_NAMES[metric] = True


def shared_pairs(names, values) -> tuple:
    """The ``(name, value)`` pairs of two flat sequences, each the tuple in ``PAIRS``."""
    if len(PAIRS) >= PAIRS_MAX:
        PAIRS.clear()
    pairs = list(zip(names, values))
    return tuple(map(PAIRS.setdefault, pairs, pairs))
