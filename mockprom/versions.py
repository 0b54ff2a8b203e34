"""The Prometheus versions mockprom emulates: one row per release line.

A version asked for (``server.version`` in a scenario, ``serve --prometheus-version``,
``MockPrometheus(version=...)``) resolves to an ``Emulation``: the version reported
(``3.5.3``), its release ``Line`` (``2.42`` or ``3.5``) and the feature flags turned on
(``server.features``, Prometheus's ``--enable-feature``).

Behaviour that differs between lines is never decided by comparing version strings.
Each concern keeps one ``VersionTable`` of rows keyed by line (``table("promql", {...})``)
and looks its row up with the emulation (``ROWS[settings.emulation]``). Every table must
have a row for every line in ``LINES`` (checked when it is made, and by a test over
``TABLES``), so emulating a new release line (3.13) is adding one ``Line`` here and one
row to each table.

A leaf module: it imports nothing from mockprom, so every layer may use it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Dict, Generic, Iterable, Mapping, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Line:
    """A Prometheus release line and what its build reports about itself."""

    key: str  # "3.5"
    latest: str  # the patch release reported for "3.5" or "3.5.x"
    go_version: str
    build_date: str
    # the names --enable-feature takes in this line (anything else is refused)
    features: frozenset = field(default_factory=frozenset)


_FEATURES_2_42 = frozenset({
    "agent", "auto-gomaxprocs", "exemplar-storage", "expand-external-labels",
    "extra-scrape-metrics", "memory-snapshot-on-shutdown", "native-histograms",
    "new-service-discovery-manager", "no-default-scrape-port", "promql-at-modifier",
    "promql-negative-offset", "promql-per-step-stats", "remote-write-receiver",
})

_FEATURES_3_5 = frozenset({
    "auto-reload-config", "concurrent-rule-eval", "created-timestamp-zero-ingestion",
    "delayed-compaction", "exemplar-storage", "extra-scrape-metrics",
    "memory-snapshot-on-shutdown", "metadata-wal-records", "native-histograms", "old-ui",
    "otlp-deltatocumulative", "otlp-native-delta-ingestion", "promql-delayed-name-removal",
    "promql-duration-expr", "promql-experimental-functions", "promql-per-step-stats",
    "type-and-unit-labels", "use-uncached-io",
})

LINES: Dict[str, Line] = {
    "2.42": Line("2.42", "2.42.0", go_version="go1.19.5", build_date="20230131-00:00:00",
                 features=_FEATURES_2_42),
    "3.5": Line("3.5", "3.5.3", go_version="go1.24.6", build_date="20250912-00:00:00",
                features=_FEATURES_3_5),
}

DEFAULT_VERSION = "3.5.3"

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+|x))?(?:[-+][0-9A-Za-z.+-]*)?$")


class VersionError(ValueError):
    """A version or feature flag mockprom does not emulate (the message says what is)."""


@dataclass(frozen=True)
class Emulation:
    """What one server emulates: the version it reports, its line and its feature flags."""

    version: str
    line: Line
    features: frozenset = field(default_factory=frozenset)

    def has(self, feature: str) -> bool:
        """Whether ``--enable-feature=<feature>`` is on."""
        return feature in self.features

    def with_features(self, extra: Iterable[str]) -> "Emulation":
        """The same version with ``extra`` flags turned on as well (checked)."""
        return resolve(self.version, set(self.features) | set(extra))


def supported() -> str:
    """``2.42.x and 3.5.x``: the lines mockprom emulates, for messages."""
    keys = [f"{k}.x" for k in LINES]
    return ", ".join(keys[:-1]) + " and " + keys[-1] if len(keys) > 1 else keys[0]


def resolve(version: str | None = None, features: Iterable[str] = ()) -> Emulation:
    """The ``Emulation`` of ``version`` (``"3.5.3"``, ``"3.5"``, ``"3.5.x"``, ``"v2.42.0"``;
    None: ``DEFAULT_VERSION``) with ``features`` on. Raises ``VersionError``."""
    text = DEFAULT_VERSION if version is None else str(version).strip()
    m = _VERSION.match(text)
    if not m:
        raise VersionError(f"invalid Prometheus version {text!r}: expected MAJOR.MINOR.PATCH "
                           f"(mockprom emulates {supported()})")
    key = f"{int(m.group(1))}.{int(m.group(2))}"
    line = LINES.get(key)
    if line is None:
        raise VersionError(f"Prometheus {text} is not emulated: mockprom emulates "
                           f"{supported()} (to only report another version, set "
                           f"buildinfo.version)")
    patch = m.group(3)
    reported = line.latest if patch in (None, "x") else f"{key}.{int(patch)}"
    flags = frozenset(str(f).strip() for f in features)
    unknown = sorted(f for f in flags if f not in line.features)
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, sorted(line.features), n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise VersionError(f"unknown feature flag {', '.join(hints)} for Prometheus {key}: "
                           f"known flags are {', '.join(sorted(line.features))}")
    return Emulation(reported, line, flags)


# -- behaviour tables --------------------------------------------------------------------

class VersionTable(Generic[T]):
    """The rows of one concern, one per line; index it with an ``Emulation``, a ``Line``
    or a line key."""

    def __init__(self, concern: str, rows: Mapping[str, T]):
        missing = [k for k in LINES if k not in rows]
        extra = [k for k in rows if k not in LINES]
        if missing or extra:
            raise ValueError(f"version table {concern!r}: rows must be exactly the lines "
                             f"{sorted(LINES)} (missing {missing}, unknown {extra})")
        self.concern = concern
        self.rows: Dict[str, T] = dict(rows)

    def __getitem__(self, which) -> T:
        if isinstance(which, Emulation):
            which = which.line.key
        elif isinstance(which, Line):
            which = which.key
        return self.rows[which]

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"VersionTable({self.concern!r}, {sorted(self.rows)})"


TABLES: Dict[str, VersionTable] = {}


def table(concern: str, rows: Mapping[str, T]) -> VersionTable[T]:
    """Make and register the behaviour table of ``concern`` (``"promql"``, ``"api"``,
    ``"remote_write"``...). Each concern has exactly one."""
    t = VersionTable(concern, rows)
    TABLES[concern] = t
    return t
