"""The checks of a scenario the scenario layer cannot make itself, given to the loader
(``load_scenario(..., checks=SCENARIO_CHECKS)``) so that every problem is reported
together, with file, line and field path:

- rules (what ``promtool check rules`` checks): the PromQL of every ``expr`` (Prometheus
  2.42's message, ``1:5: parse error: ...``), recording rule names (valid metric names),
  alert names, label names and values, annotation names, group names, and the common
  mistakes in the Go templates of an alerting rule's labels and annotations (an action
  left open, an unknown function or variable), each worded as promtool words it;
  ``for`` durations are the model's (negative ones are refused there);
- fault rules and the timeline (``mockprom.faults.engine.validate_faults``).

Each check takes the scenario's raw data and returns ``(path_elems, message)`` pairs.
An expression that parses but gives no vector (``x[5m]``) is accepted, as Prometheus
accepts it: the rule then reports health "err" at evaluation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional, Union

from mockprom import versions
from mockprom.scenario.loader import load_scenario

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _legacy_record(name: str) -> Optional[str]:
    return None if _METRIC_NAME.match(name) else f"invalid recording rule name: {name}"


def _utf8_record(name: str) -> Optional[str]:
    if "{" in name or "}" in name:
        return f"braces present in the recording rule name; should it be in expr?: {name}"
    return None if _valid_utf8(name) else f"invalid recording rule name: {name}"


@dataclass(frozen=True)
class RuleNames:
    """What ``promtool check rules`` accepts as names: recording rule names (the problem
    or None), label and annotation names."""

    record: Callable[[str], Optional[str]]
    label: Callable[[str], bool]


# 2.42: legacy metric and label names; 3.5: any UTF-8 name (a recording rule name with
# braces is refused as a likely selector), checked against both promtools.
RULE_NAMES = versions.table("rule_names", {
    "2.42": RuleNames(record=_legacy_record, label=lambda k: bool(_LABEL_NAME.match(k))),
    "3.5": RuleNames(record=_utf8_record, label=lambda k: bool(k) and _valid_utf8(k)),
})
_FAULT_PATH = re.compile(r"^((?:faults|timeline)(?:\[\d+\]|\.[A-Za-z_][A-Za-z0-9_]*)*): (.*)$", re.S)
_PATH_ELEM = re.compile(r"\[(\d+)\]|\.?([A-Za-z_][A-Za-z0-9_]*)")


def _valid_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. "\ud800" in JSON
        return False
    return True


def _items(value) -> list:
    return list(enumerate(value)) if isinstance(value, list) else []


def check_rules(data: dict) -> Iterable[tuple[tuple, str]]:
    """Problems of ``rules:`` as ``promtool check rules`` finds them."""
    from mockprom.promql.errors import ParseError
    from mockprom.promql.parse import check

    groups = data.get("rules") if isinstance(data, dict) else None
    emulation = _emulation_of(data)
    seen_groups: dict = {}
    for gi, grp in _items(groups):
        if not isinstance(grp, dict):
            continue
        name = grp.get("name")
        if name == "":
            yield ("rules", gi, "name"), "Groupname must not be empty"
        elif isinstance(name, str):
            key = (str(grp.get("file", "rules.yaml")), name)
            if key in seen_groups:
                yield ("rules", gi, "name"), f'groupname: "{name}" is repeated in the same file'
            seen_groups.setdefault(key, gi)
        for ri, rule in _items(grp.get("rules")):
            if isinstance(rule, dict):
                yield from _rule_problems(("rules", gi, "rules", ri), rule,
                                          lambda text: check(text, emulation), ParseError,
                                          RULE_NAMES[emulation or versions.resolve()])


def _emulation_of(data) -> object:
    """The Prometheus the scenario's ``server:`` block asks for (None: the default, also
    when the block is invalid, which the model's own checks report)."""
    from mockprom import versions

    server = data.get("server") if isinstance(data, dict) else None
    if not isinstance(server, dict):
        return None
    try:
        flags = set(server.get("features") or ())
        if server.get("per_step_stats"):
            flags.add("promql-per-step-stats")
        return versions.resolve(server.get("version"), flags)
    except (versions.VersionError, TypeError):
        return None


def _rule_problems(at: tuple, rule: dict, check, ParseError, names: RuleNames):
    record, alert = rule.get("record"), rule.get("alert")
    if record == "" or alert == "":
        if not record and not alert:
            field = "record" if record == "" else "alert"
            yield at + (field,), "one of 'record' or 'alert' must be set"
    if isinstance(record, str) and record:
        problem = names.record(record)
        if problem:
            yield at + ("record",), problem
    if isinstance(alert, str) and alert and not _valid_utf8(alert):
        yield at + ("alert",), f"invalid alert name: {alert!r} (not valid UTF-8)"
    expr = rule.get("expr")
    if isinstance(expr, str):
        if not expr:
            yield at + ("expr",), "field 'expr' must be set in rule"
        else:
            try:
                message = check(expr)  # unstripped: positions count as Prometheus counts them
            except ParseError as exc:
                message = str(exc)
            if message:
                yield at + ("expr",), message
    labels = rule.get("labels")
    if isinstance(labels, dict):
        for k, v in labels.items():
            k = str(k)
            if not names.label(k) or k == "__name__":
                yield at + ("labels", k), f"invalid label name: {k}"
            if isinstance(v, str) and not _valid_utf8(v):
                yield at + ("labels", k), f"invalid label value: {v!r}"
    annotations = rule.get("annotations")
    if isinstance(annotations, dict):
        for k in annotations:
            if not names.label(str(k)):
                yield at + ("annotations", str(k)), f"invalid annotation name: {k}"
    if isinstance(alert, str) and alert:
        for field, kind in (("labels", "label"), ("annotations", "annotation")):
            values = rule.get(field)
            for k, v in (values.items() if isinstance(values, dict) else ()):
                problem = _template_problem(str(v), alert) if isinstance(v, str) else None
                if problem:
                    yield at + (field, str(k)), f'{kind} "{k}": {problem}'


# Functions a rule template may call in Prometheus 2.42 (Go's built-ins and Prometheus's).
_TEMPLATE_FUNCS = frozenset("""
    and call html index slice js len not or print printf println urlquery eq ge gt le lt ne
    query first label value strvalue args reReplaceAll safeHtml match title toUpper toLower
    graphLink tableLink sortByLabel humanize humanize1024 humanizeDuration humanizePercentage
    humanizeTimestamp pathPrefix externalURL parseDuration toTime stripPort stripDomain
""".split())
_TEMPLATE_WORDS = frozenset("if else end range with template define block nil true false "
                            "break continue".split())
_TEMPLATE_VARS = frozenset(("$", "$labels", "$value", "$externalLabels", "$externalURL"))
_STRINGS = re.compile(r'"(?:[^"\\\n]|\\.)*"|`[^`]*`|\'(?:[^\'\\\n]|\\.)*\'')
_TOKENS = re.compile(r"(\$[A-Za-z0-9_]*)|(?<![\w.$])([A-Za-z_][A-Za-z0-9_]*)")
_DECLARED = re.compile(r"(\$[A-Za-z0-9_]+)\s*(?:,\s*(\$[A-Za-z0-9_]+)\s*)?:?=(?!=)")


def _template_problem(text: str, alert: str) -> Optional[str]:
    """The first Go template error of ``text`` as ``promtool check rules`` words it, for
    the common mistakes: an action left open (``{{ .Foo``), an unknown function
    (``{{ humanise $value }}``) or variable. Other template errors are not detected."""
    head = f"template: __alert_{alert}"
    declared = set(_TEMPLATE_VARS)
    for m in _DECLARED.finditer(text):
        declared.update(v for v in m.groups() if v)
    i = 0
    while True:
        start = text.find("{{", i)
        if start < 0:
            return None
        rest = text[start + 2:]
        if rest.lstrip("- ").startswith("/*"):  # a comment: {{/* ... */}}
            close = text.find("*/", start + 2)
            if close < 0:
                return f"{head}:{1 + text.count(chr(10), 0, start)}: unclosed comment"
            end = text.find("}}", close + 2)
            if end < 0:
                return f"{head}:{1 + text.rstrip().count(chr(10))}: unclosed action"
            i = end + 2
            continue
        end = _action_end(text, start + 2)
        body = text[start + 2:end if end >= 0 else len(text)]
        i = end + 2
        body = _STRINGS.sub(lambda s: re.sub(r"[^\n]", " ", s.group(0)), body)
        for tok in _TOKENS.finditer(body):
            var, word = tok.groups()
            line = 1 + text.count("\n", 0, start + 2 + tok.start())
            if var and var not in declared:
                return f'{head}:{line}: undefined variable "{var}"'
            if word and word not in _TEMPLATE_FUNCS and word not in _TEMPLATE_WORDS:
                return f'{head}:{line}: function "{word}" not defined'
        if end < 0:
            return f"{head}:{1 + text.rstrip().count(chr(10))}: unclosed action"


def _action_end(text: str, i: int) -> int:
    """Where the action starting at ``i`` ends (its ``}}``), skipping string and character
    literals; -1 when it is never closed."""
    n = len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            i += 1
            while i < n and text[i] != c and text[i] != "\n":
                i += 2 if text[i] == "\\" else 1
        elif c == "`":
            close = text.find("`", i + 1)
            if close < 0:
                return -1
            i = close
        elif text.startswith("}}", i):
            return i
        i += 1
    return -1


def check_faults(data: dict) -> Iterable[tuple[tuple, str]]:
    """Problems of ``faults:`` and ``timeline:``, from the fault engine."""
    if not isinstance(data, dict):
        return []
    faults, timeline = data.get("faults"), data.get("timeline")
    if not faults and not timeline:
        return []
    if not isinstance(faults, (list, type(None))) or not isinstance(timeline, (list, type(None))):
        return []  # the model reports the wrong type
    from mockprom.faults.engine import validate_faults

    return [_fault_problem(p) for p in validate_faults(faults, timeline)]


def _fault_problem(text: str) -> tuple[tuple, str]:
    m = _FAULT_PATH.match(text)
    if not m:
        return ("faults",), text
    elems = []
    for idx, name in _PATH_ELEM.findall(m.group(1)):
        elems.append(int(idx) if idx else name)
    return tuple(elems), m.group(2)


SCENARIO_CHECKS = (check_rules, check_faults)


def load_checked(source, *, filename: Optional[str] = None):
    """``load_scenario`` with every check: the model's, the rules' and the faults'.
    Raises ``ScenarioError`` listing every problem."""
    return load_scenario(source, filename=filename, checks=SCENARIO_CHECKS)


def load_checked_dir(path: Union[str, Path]):
    """``load_scenarios_dir`` with every check."""
    from mockprom.scenario.loader import load_scenarios_dir

    return load_scenarios_dir(path, checks=SCENARIO_CHECKS)
