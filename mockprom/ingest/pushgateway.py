"""Pushgateway semantics: groups of pushed metrics by grouping key, and their series in
the store as Prometheus would scrape them from a Pushgateway (``honor_labels: true``).

Follows the Pushgateway (v1.x, ``handler/push.go``, ``storage/diskmetricstore.go``):
PUT replaces a group, POST replaces only the pushed metric families, DELETE removes the
group. Every group carries ``push_time_seconds`` and ``push_failure_time_seconds``.
Grouping labels override same-named labels of pushed samples (they are not refused), and
``instance`` defaults to "". A push whose samples carry timestamps, repeat a series, or
give a metric another type than another group did is refused (400) and only updates
``push_failure_time_seconds``. Histograms and summaries are completed as the Pushgateway's
exposition completes them: missing ``_sum``/``_count`` are 0 and a missing ``+Inf`` bucket
equals ``_count``. A push in the protobuf format (``ingest.pushproto``) may carry native
histograms: one sample each, nothing completed.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import threading
from dataclasses import dataclass
from typing import Optional

from mockprom.histograms import FloatHistogram
from mockprom.ingest.errors import IngestError
from mockprom.ingest.gofloat import format_go_g
from mockprom.ingest.pushed_source import PushedSource
from mockprom.ingest.textformat import Family, parse_float, parse_text
from mockprom.scenario.labels import Labels, make_labels

PUSH_TIME = "push_time_seconds"
PUSH_FAILURE = "push_failure_time_seconds"
PUSH_TIME_HELP = "Last Unix time when changing this group in the Pushgateway succeeded."
PUSH_FAILURE_HELP = "Last Unix time when changing this group in the Pushgateway failed."
INCONSISTENT = "pushed metrics are invalid or inconsistent with existing metrics: "

LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
BASE64_SUFFIX = "@base64"


# -- the URL's grouping key ------------------------------------------------------------
def decode_base64(value: str) -> str:
    """URL-safe base64 with or without padding (``=`` alone is the empty value)."""
    raw = value.rstrip("=")
    bad = re.search(r"[^A-Za-z0-9_-]", raw)
    if bad:
        raise ValueError(f"illegal base64 data at input byte {bad.start()}")
    try:
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8")
    except Exception as err:
        raise ValueError(str(err)) from None


def parse_grouping_key(job: str, rest: str) -> dict[str, str]:
    """The grouping labels of ``/metrics/job/<job>{/<label>/<value>}``; ``job`` may end in
    ``@base64`` and so may each label name. Raises IngestError with the Pushgateway's text."""
    if job.endswith(BASE64_SUFFIX):
        job_raw = job[: -len(BASE64_SUFFIX)]
        try:
            job = decode_base64(job_raw)
        except ValueError as err:
            raise IngestError(f"invalid base64 encoding in job name {job_raw!r}: {err}") from None
    labels: dict[str, str] = {}
    rest = rest.strip("/") if rest else ""
    if rest:
        parts = rest.split("/")
        if len(parts) % 2:
            raise IngestError(f"odd number of components in label string {'/' + rest!r}")
        for name, value in zip(parts[::2], parts[1::2]):
            trimmed = name[: -len(BASE64_SUFFIX)] if name.endswith(BASE64_SUFFIX) else name
            if not LABEL_NAME_RE.fullmatch(trimmed) or trimmed.startswith("__"):
                raise IngestError(f"improper label name {trimmed!r}")
            if trimmed != name:
                try:
                    value = decode_base64(value)
                except ValueError as err:
                    raise IngestError(f"invalid base64 encoding for label {trimmed}={value!r}: "
                                      f"{err}") from None
            labels[trimmed] = value
    if job == "":
        raise IngestError("job name is required")
    labels["job"] = job
    return labels


# -- groups ----------------------------------------------------------------------------
@dataclass
class StoredFamily:
    family: Family
    time_ms: int
    # what a scrape shows of it under its group's grouping key, computed once (outside
    # the lock): (series key, Labels, value, text line or None) per sample
    exposed: list = None


def _exposed(fam: Family, grouping: dict) -> list:
    return [(_series_key(name, labels), make_labels({**labels, "__name__": name}), value, line)
            for name, labels, value, line in _expand(fam, grouping, with_lines=True)]


@dataclass
class Group:
    labels: dict  # the grouping key, job included
    families: dict  # name -> StoredFamily (pushed families only)
    push_ms: int = 0  # 0: never succeeded
    push_family_ms: int = 0
    failure_ms: int = 0
    failure_family_ms: int = 0
    series: dict = None  # Labels -> value, as currently exposed

    def key(self) -> tuple:
        return tuple(sorted(self.labels.items()))


def _series_key(name: str, labels: dict) -> tuple:
    return (name,) + tuple(sorted(labels.items()))


def _timestamped(families: dict) -> Optional[IngestError]:
    """The refusal of a push whose samples carry timestamps (None when none does)."""
    for fam in families.values():
        for s in fam.samples:
            if s.timestamp_ms is not None:
                return IngestError(INCONSISTENT + "pushed metrics must not have timestamps "
                                   f"(line {s.line})")
    return None


def _expand(fam: Family, grouping: dict, with_lines: bool = False) -> list[tuple]:
    """The samples ``(name, labels, value)`` a scrape of the gateway shows for one family,
    grouping labels applied, histograms and summaries completed; ``with_lines`` adds the
    text line of each (None for completed ones)."""
    def sanitize(labels: dict) -> dict:
        out = dict(labels)
        out.update(grouping)
        out.setdefault("instance", "")
        return out

    out = [(s.name, sanitize(s.labels), s.value) for s in fam.samples]
    lines = [s.line for s in fam.samples]
    native = [x for x in out if isinstance(x[2], FloatHistogram)]
    if native:  # native histograms first (their lines kept), completed classic ones after
        keep = [i for i, x in enumerate(out) if not isinstance(x[2], FloatHistogram)]
        lines = [lines[i] for i, x in enumerate(out) if isinstance(x[2], FloatHistogram)] + [
            lines[i] for i in keep]
        out = native + (_complete(fam, [out[i] for i in keep]) if keep else [])
    elif fam.type in ("histogram", "summary"):
        out = _complete(fam, out)
    if with_lines:
        lines += [None] * (len(out) - len(lines))
        return [(*sample, line) for sample, line in zip(out, lines)]
    return out


def _complete(fam: Family, out: list) -> list:
    """Add what the Pushgateway's exposition adds: ``_sum``/``_count`` 0 when missing, and
    a ``+Inf`` bucket equal to ``_count``."""
    out = list(out)
    part = "le" if fam.type == "histogram" else "quantile"
    seen: dict[tuple, dict] = {}
    for name, labels, value in out:
        base = {k: v for k, v in labels.items() if k != part}
        entry = seen.setdefault(tuple(sorted(base.items())), {"labels": base, "names": {}, "inf": False})
        entry["names"][name] = value
        if name == fam.name + "_bucket" and parse_float(labels.get("le", "0")) == float("inf"):
            entry["inf"] = True
    for entry in seen.values():
        base, names = entry["labels"], entry["names"]
        count = names.get(fam.name + "_count", 0.0)
        for suffix in ("_sum", "_count"):
            if fam.name + suffix not in names:
                out.append((fam.name + suffix, dict(base), 0.0))
        if fam.type == "histogram" and not entry["inf"]:
            out.append((fam.name + "_bucket", {**base, "le": "+Inf"}, count))
    return out


class PushGateway:
    """All pushed groups of one store. Thread safe (one lock for all changes)."""

    def __init__(self, store, interval_ms: int, lock: Optional[threading.Lock] = None):
        self.store = store
        self.interval_ms = int(interval_ms)
        # the gateway's own lock: pushed series have their own sources, so remote writes
        # never wait for a push
        self.lock = lock or threading.Lock()
        self.groups: dict[tuple, Group] = {}
        self._sources: dict[Labels, PushedSource] = {}

    # -- changes ------------------------------------------------------------------
    def push(self, grouping: dict, body, replace: bool, now_ms: int) -> int:
        """Apply a push (PUT: ``replace``; POST: not) of a text body, or of families
        already parsed (a protobuf push). Returns the number of samples. Raises
        IngestError (400) for a body the Pushgateway refuses."""
        families = parse_text(body) if isinstance(body, str) else body  # nothing changed yet
        # the costly part, linear in the body, before taking the lock
        stamped = _timestamped(families)
        stored = {name: StoredFamily(fam, now_ms, _exposed(fam, grouping))
                  for name, fam in families.items()}
        with self.lock:
            key = tuple(sorted(grouping.items()))
            group = self.groups.get(key)
            try:
                if stamped is not None:
                    raise stamped
                self._check(stored, group, replace)
            except IngestError:
                self._failed(key, grouping, now_ms)
                raise
            if group is None:
                group = Group(dict(grouping), {}, series={})
                group.failure_family_ms = now_ms
                self.groups[key] = group
            if replace:
                group.families = {}
            group.families.update(stored)
            group.push_ms = group.push_family_ms = now_ms
            self._expose(group, now_ms)
            return sum(len(f.samples) for f in families.values())

    def delete(self, grouping: dict, now_ms: int) -> None:
        with self.lock:
            group = self.groups.pop(tuple(sorted(grouping.items())), None)
            if group is not None:
                self._end_all(group, now_ms)

    def wipe(self, now_ms: int) -> None:
        with self.lock:
            for group in self.groups.values():
                self._end_all(group, now_ms)
            self.groups = {}

    # -- checks -------------------------------------------------------------------
    def _check(self, stored: dict, group: Optional[Group], replace: bool) -> None:
        """What the Pushgateway's consistency check refuses (but timestamps, see
        ``_timestamped``), naming the line at fault."""
        types: dict = {}  # family name -> the first other group's family of that name
        for other in self.groups.values():
            if other is not group:
                for name, theirs in other.families.items():
                    types.setdefault(name, theirs.family)
        for fam in (sf.family for sf in stored.values()):
            theirs = types.get(fam.name)
            if theirs is not None and theirs.type != fam.type:
                line = f" (line {fam.samples[0].line})" if fam.samples else ""
                raise IngestError(INCONSISTENT + f"gathered metric family {fam.name} has type "
                                  f"{fam.type.upper()} but should have "
                                  f"{theirs.type.upper()}{line}")
        merged = dict(stored)
        if group is not None and not replace:
            for name, kept in group.families.items():
                merged.setdefault(name, kept)
        seen = set()
        for name, sf in merged.items():
            for key, _, _, line in sf.exposed:
                if key in seen:
                    shown = key[0] + "{" + ",".join(f'{a}="{b}"' for a, b in key[1:]) + "}"
                    where = f" (line {line})" if line and name in stored else ""
                    raise IngestError(INCONSISTENT + f"collected metric {shown} was collected "
                                      f"before with the same name and label values{where}")
                seen.add(key)

    def _failed(self, key: tuple, grouping: dict, now_ms: int) -> None:
        group = self.groups.get(key)
        if group is None:
            group = Group(dict(grouping), {}, series={})
            group.push_family_ms = now_ms
            self.groups[key] = group
        group.failure_ms = group.failure_family_ms = now_ms
        self._expose(group, now_ms)

    # -- the exposed series ---------------------------------------------------------
    def _expose(self, group: Group, now_ms: int) -> None:
        new: dict[Labels, float] = {}
        for stored in group.families.values():
            for _, labels, value, _ in stored.exposed:
                new[labels] = value
        for name, ms in ((PUSH_TIME, group.push_ms), (PUSH_FAILURE, group.failure_ms)):
            new[make_labels({**group.labels, "__name__": name})] = ms / 1000.0
        for labels in group.series:
            if labels not in new:
                self._sources[labels].end(now_ms)
        added = []
        for labels, value in new.items():
            src = self._sources.get(labels)
            if src is None:
                src = self._sources[labels] = PushedSource(self.interval_ms)
                added.append((labels, src))
            src.set_value(now_ms, value)
        self.store.add_many(added)  # all new series added together
        group.series = new

    def _end_all(self, group: Group, now_ms: int) -> None:
        for labels in group.series:
            self._sources[labels].end(now_ms)
        group.series = {}

    # -- the JSON API (GET /api/v1/metrics) ---------------------------------------------
    def groups_json(self) -> list[dict]:
        with self.lock:
            groups = sorted(self.groups.values(), key=Group.key)
            return [self._group_json(g) for g in groups]

    def _group_json(self, g: Group) -> dict:
        out: dict = {"labels": dict(g.labels), "last_push_successful": g.push_ms >= g.failure_ms}
        for name, stored in sorted(g.families.items()):
            out[name] = _family_json(stored.family, g.labels, stored.time_ms)
        for name, help_, value_ms, family_ms in (
                (PUSH_TIME, PUSH_TIME_HELP, g.push_ms, g.push_family_ms),
                (PUSH_FAILURE, PUSH_FAILURE_HELP, g.failure_ms, g.failure_family_ms)):
            labels = dict(g.labels)
            labels.setdefault("instance", "")
            out[name] = {"time_stamp": go_time(family_ms), "type": "GAUGE", "help": help_,
                         "metrics": [{"labels": labels, "value": format_go_g(value_ms / 1000.0)}]}
        return out


def go_time(ms: int) -> str:
    """Go's ``time.Time`` JSON (RFC3339Nano) in UTC."""
    t = dt.datetime.fromtimestamp(ms / 1000.0, tz=dt.timezone.utc)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    frac = f"{ms % 1000:03d}".rstrip("0")
    return f"{text}.{frac}Z" if frac else f"{text}Z"


def _family_json(fam: Family, grouping: dict, time_ms: int) -> dict:
    samples = _expand(fam, grouping)
    out: dict = {"time_stamp": go_time(time_ms), "type": fam.type.upper()}
    if fam.help:
        out["help"] = fam.help
    if fam.type in ("histogram", "summary"):
        part = "le" if fam.type == "histogram" else "quantile"
        metrics: dict[tuple, dict] = {}
        for name, labels, value in samples:
            base = {k: v for k, v in labels.items() if k != part}
            m = metrics.setdefault(tuple(sorted(base.items())), {"labels": base})
            if isinstance(value, FloatHistogram):  # the classic view of a native one
                m["count"], m["sum"] = format_go_g(value.count), format_go_g(value.sum)
            elif name == fam.name + "_sum":
                m["sum"] = format_go_g(value)
            elif name == fam.name + "_count":
                m["count"] = format_go_g(value)
            elif fam.type == "histogram":
                if parse_float(labels["le"]) != float("inf"):  # Go keeps +Inf implicit
                    m.setdefault("buckets", {})[format_go_g(parse_float(labels["le"]))] = format_go_g(value)
            else:
                m.setdefault("quantiles", {})[format_go_g(parse_float(labels["quantile"]))] = format_go_g(value)
        for m in metrics.values():
            m.setdefault("buckets" if fam.type == "histogram" else "quantiles", {})
        out["metrics"] = list(metrics.values())
    else:
        out["metrics"] = [{"labels": labels, "value": format_go_g(value)} for _, labels, value in samples]
    return out
