"""A strict parser of the Prometheus text exposition format (0.0.4), as the Pushgateway
reads pushed bodies (Go's ``expfmt.TextParser``): every error names its line, worded like
Go's ``text format parsing error in line N: ...``.

``prometheus_client.parser`` is lax (it accepts what Go refuses and reports no line
numbers), so pushed bodies are checked here; the result is a dict of ``Family`` by name.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Optional

from mockprom.ingest.errors import IngestError

METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


@dataclass
class ParsedSample:
    name: str  # the sample's own name (e.g. x_bucket)
    labels: dict  # without __name__
    value: float
    timestamp_ms: Optional[int]
    line: int


@dataclass
class Family:
    name: str
    type: str = "untyped"
    help: Optional[str] = None
    samples: list = field(default_factory=list)
    typed: bool = False  # a TYPE line was seen


def _err(line: int, msg: str) -> IngestError:
    return IngestError(f"text format parsing error in line {line}: {msg}")


def parse_float(text: str) -> float:
    """Go's ``strconv.ParseFloat`` for the forms exposition uses; ValueError otherwise."""
    if "_" in text or text.strip() != text or not text:
        raise ValueError(text)
    low = text.lower()
    if low in ("inf", "+inf", "infinity", "+infinity"):
        return math.inf
    if low in ("-inf", "-infinity"):
        return -math.inf
    if low == "nan":
        return math.nan
    if low.lstrip("+-").startswith("0x"):
        return float.fromhex(text)
    return float(text)


def _unescape(raw: str, line: int, help_text: bool = False) -> str:
    if "\\" not in raw:
        return raw
    out, i = [], 0
    while i < len(raw):
        c = raw[i]
        if c == "\\":
            nxt = raw[i + 1] if i + 1 < len(raw) else ""
            if nxt == "\\":
                out.append("\\")
            elif nxt == "n":
                out.append("\n")
            elif nxt == '"' and not help_text:
                out.append('"')
            elif help_text:
                out.append("\\" + nxt)
            else:
                raise _err(line, f"invalid escape sequence '\\{nxt}'")
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _parse_labels(text: str, pos: int, name: str, line: int) -> tuple[dict, int]:
    """Parse ``{a="b",...}`` starting after the ``{`` at ``pos``; returns (labels, pos after ``}``)."""
    labels: dict = {}
    n = len(text)
    while True:
        while pos < n and text[pos] in " \t":
            pos += 1
        if pos < n and text[pos] == "}":
            return labels, pos + 1
        m = LABEL_NAME_RE.match(text, pos)
        if not m:
            raise _err(line, f"invalid label name for metric {name!r}")
        lname = m.group(0)
        pos = m.end()
        while pos < n and text[pos] in " \t":
            pos += 1
        if pos >= n or text[pos] != "=":
            raise _err(line, f"expected '=' after label name, found {text[pos:pos + 1]!r}")
        pos += 1
        while pos < n and text[pos] in " \t":
            pos += 1
        if pos >= n or text[pos] != '"':
            raise _err(line, f"expected '\"' at start of label value, found {text[pos:pos + 1]!r}")
        pos += 1
        start = pos
        while pos < n and text[pos] != '"':
            pos += 2 if text[pos] == "\\" else 1
        if pos >= n:
            raise _err(line, f"unterminated label value for label {lname!r}")
        value = _unescape(text[start:pos], line)
        pos += 1
        if lname == "__name__":
            raise _err(line, f"label name \"__name__\" is reserved (metric {name!r})")
        if lname in labels:
            raise _err(line, f"duplicate label names for metric {name!r}")
        labels[lname] = value
        while pos < n and text[pos] in " \t":
            pos += 1
        if pos < n and text[pos] == ",":
            pos += 1
        elif pos < n and text[pos] == "}":
            continue
        else:
            raise _err(line, f"unexpected end of label value {value!r}")


def _parse_sample(text: str, line: int) -> ParsedSample:
    m = METRIC_NAME_RE.match(text)
    if not m:
        raise _err(line, f"{text.split()[0]!r} is not a valid metric name")
    name = m.group(0)
    pos = m.end()
    labels: dict = {}
    if pos < len(text) and text[pos] not in " \t{":
        raise _err(line, f"invalid metric name {text.split()[0]!r}")
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    if pos < len(text) and text[pos] == "{":
        labels, pos = _parse_labels(text, pos + 1, name, line)
    rest = text[pos:].split()
    if not rest:
        raise _err(line, f"expected a value for metric {name!r}")
    if len(rest) > 2:
        raise _err(line, f"spurious string after timestamp: {rest[2]!r}")
    try:
        value = parse_float(rest[0])
    except ValueError:
        raise _err(line, f"expected float as value, got {rest[0]!r}") from None
    ts = None
    if len(rest) == 2:
        if not re.fullmatch(r"[+-]?\d+", rest[1]):
            raise _err(line, f"expected integer as timestamp, got {rest[1]!r}")
        ts = int(rest[1])
    return ParsedSample(name, labels, value, ts, line)


def _family_of(sample_name: str, families: dict) -> str:
    """The family a sample belongs to: a histogram's ``_bucket/_sum/_count`` and a summary's
    ``_sum/_count`` go to the base family when it is declared as such."""
    for suffix, kinds in (("_bucket", ("histogram",)), ("_sum", ("histogram", "summary")),
                          ("_count", ("histogram", "summary"))):
        if sample_name.endswith(suffix):
            base = sample_name[: -len(suffix)]
            fam = families.get(base)
            if fam is not None and fam.type in kinds:
                return base
    return sample_name


def parse_text(body: str) -> dict[str, Family]:
    """Parse an exposition body into families by name. Raises IngestError (400)."""
    families: dict[str, Family] = {}
    for lineno, raw in enumerate(body.split("\n"), start=1):
        text = raw.strip(" \t\r")
        if not text:
            continue
        if text.startswith("#"):
            parts = text[1:].split(None, 2)
            if len(parts) < 2 or parts[0] not in ("HELP", "TYPE"):
                continue  # a plain comment
            kind, name = parts[0], parts[1]
            if not METRIC_NAME_RE.fullmatch(name):
                raise _err(lineno, f"invalid metric name in comment: {name!r}")
            fam = families.setdefault(name, Family(name))
            arg = parts[2] if len(parts) > 2 else ""
            if kind == "HELP":
                if fam.help is not None:
                    raise _err(lineno, f"second HELP line for metric name {name!r}")
                fam.help = _unescape(arg, lineno, help_text=True)
            else:
                typ = arg.strip().lower()
                if typ not in TYPES:
                    raise _err(lineno, f"unknown metric type {arg.strip()!r}")
                if fam.samples or fam.typed:
                    raise _err(lineno, f"second TYPE line for metric name {name!r}, or TYPE "
                                       f"reported after samples")
                fam.type = typ
                fam.typed = True
            continue
        sample = _parse_sample(text, lineno)
        fname = _family_of(sample.name, families)
        fam = families.setdefault(fname, Family(fname))
        _check_sample(fam, sample)
        fam.samples.append(sample)
    return families


def _check_sample(fam: Family, s: ParsedSample) -> None:
    if fam.type == "histogram" and s.name == fam.name + "_bucket":
        if "le" not in s.labels:
            raise _err(s.line, f"histogram bucket {s.name!r} has no 'le' label")
        try:
            parse_float(s.labels["le"])
        except ValueError:
            raise _err(s.line, f"expected float as value for 'le' label, got {s.labels['le']!r}") from None
    elif fam.type == "histogram" and s.name == fam.name:
        raise _err(s.line, f"histogram {fam.name!r} has a sample without _bucket, _sum or _count suffix")
    elif fam.type == "summary" and s.name == fam.name:
        if "quantile" not in s.labels:
            raise _err(s.line, f"summary {fam.name!r} has a sample without a 'quantile' label")
        try:
            parse_float(s.labels["quantile"])
        except ValueError:
            raise _err(s.line, f"expected float as value for 'quantile' label, got "
                               f"{s.labels['quantile']!r}") from None
