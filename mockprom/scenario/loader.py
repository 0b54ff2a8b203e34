"""Load scenarios from files, directories, YAML/JSON text or dicts, reporting every
problem at once with file, line and field path::

    scenarios/x.yaml:14 series[2].generator.kind: unknown 'sinus', expected one of ... (did you mean 'sine'?)

Checks this layer cannot make itself (PromQL of rules, fault rules: they belong to later
layers) come in through ``checks=``: each check is called with the scenario's raw data
(the mapping as read, before the model) and returns ``(path_elems, message)`` pairs, e.g.
``(("rules", 0, "rules", 1, "expr"), "1:5: parse error: ...")``; the loader locates them
with its line map and reports them together with the model's own problems.
"""

from __future__ import annotations

import difflib
import json
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence, Union

import yaml
from pydantic import BaseModel, ValidationError

from mockprom.redact import is_secret
from mockprom.scenario import library
from mockprom.scenario.model import Scenario
from mockprom.scenario.textsafety import alias_problem, surrogate_problem

try:  # the C loader is much faster on big scenario files
    from yaml import CSafeLoader as _YamlLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _YamlLoader

SCENARIO_SUFFIXES = library.SUFFIXES
SCHEMA_PATH = Path(__file__).with_name("schema.json")

Check = Callable[[dict], Iterable[tuple[tuple, str]]]
"""An extra check: raw scenario data -> ``(path_elems, message)`` pairs, one a problem."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario."""

    file: Optional[str]
    line: Optional[int]
    path: Optional[str]
    message: str

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "")
        elif self.line:
            where = f"line {self.line}"
        head = " ".join(p for p in (where, self.path) if p)
        return f"{head}: {self.message}" if head else self.message

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "path": self.path, "message": self.message}


class ScenarioText(str):
    """YAML or JSON scenario text that is never taken for a path (a request body)."""


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid scenario")


# -- public entry points --------------------------------------------------------------------


def load_scenario(source: Union[str, Path, dict, Scenario], *, filename: Optional[str] = None,
                  checks: Sequence[Check] = ()) -> Scenario:
    """A scenario from a file or directory path, YAML/JSON text, a dict or a Scenario.
    ``checks``: extra checks (see the module doc), run on the data of every source; their
    problems are reported with the model's (a Scenario's are reported without lines).

    A directory must hold exactly one scenario (see ``load_scenarios_dir``)."""
    if isinstance(source, Scenario):
        if checks:
            problems = _check_problems(checks, _scenario_data(source), None, filename)
            if problems:
                raise ScenarioError(problems)
        return source
    if isinstance(source, dict):
        return _validate(source, None, filename, checks)
    if isinstance(source, ScenarioText):
        return _load_text(str(source), filename, is_json=None, checks=checks)
    if isinstance(source, Path) or (isinstance(source, str) and _looks_like_path(source)):
        path = Path(source)
        if path.is_dir():
            found = load_scenarios_dir(path, checks=checks)
            if len(found) != 1:
                names = ", ".join(sorted(found)) or "none"
                raise ScenarioError([Problem(str(path), None, None,
                                             f"a directory with {len(found)} scenarios ({names}); "
                                             f"name one file, or load it with load_scenarios_dir")])
            return next(iter(found.values()))
        if not path.exists():
            packaged = _packaged(str(source))
            if packaged is None:
                raise ScenarioError([Problem(str(path), None, None, _not_found(str(source)))])
            path = packaged
        return _load_file(path, filename or str(path), checks=checks)
    if isinstance(source, bytes):
        source = source.decode("utf-8")
    if isinstance(source, str):
        return _load_text(source, filename, is_json=None, checks=checks)
    raise ScenarioError([Problem(filename, None, None,
                                 f"cannot load a scenario from {type(source).__name__}")])


def load_scenarios_dir(path: Union[str, Path], *, checks: Sequence[Check] = ()) -> dict[str, Scenario]:
    """Every scenario file (``*.yaml``, ``*.yml``, ``*.json``) of a directory, by name.
    A file without ``name:`` is named after its file name. Problems of all files are
    reported together (``checks`` as for ``load_scenario``)."""
    path = Path(path)
    if not path.is_dir():
        raise ScenarioError([Problem(str(path), None, None, "not a directory")])
    problems: list[Problem] = []
    found: dict[str, Scenario] = {}
    where: dict[str, str] = {}
    for file in sorted(p for p in path.iterdir() if p.suffix.lower() in SCENARIO_SUFFIXES and p.is_file()):
        try:
            sc = _load_file(file, str(file), default_name=file.stem, checks=checks)
        except ScenarioError as e:
            problems.extend(e.problems)
            continue
        if sc.name in found:
            problems.append(Problem(str(file), None, "name",
                                    f"scenario name {sc.name!r} is also used by {where[sc.name]}"))
            continue
        found[sc.name] = sc
        where[sc.name] = str(file)
    if problems:
        raise ScenarioError(problems)
    return found


def scenario_schema() -> dict:
    """The JSON Schema of the scenario format."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mockprom scenario"
    return schema


def schema_text() -> str:
    return json.dumps(scenario_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(path: Union[str, Path, None] = None) -> Path:
    """Write the JSON Schema (by default to the shipped ``mockprom/scenario/schema.json``)."""
    path = Path(path) if path else SCHEMA_PATH
    path.write_text(schema_text(), encoding="utf-8")
    return path


# -- reading --------------------------------------------------------------------------------


def _packaged(source: str) -> Optional[Path]:
    """The packaged scenario a bare name (``slo-burn``, ``slo-burn.yaml``) stands for."""
    if "/" in source or "\\" in source:
        return None
    stem = source[: -len(Path(source).suffix)] if source.lower().endswith(SCENARIO_SUFFIXES) \
        else source
    return library.find(stem)


def _not_found(source: str) -> str:
    """``no such file or directory``, naming the packaged scenario that was likely meant."""
    names = list(library.entries())
    stem = Path(source).stem
    if stem in names:
        return (f"no such file or directory (the packaged scenario {stem!r} is addressed by "
                f"its name alone: scenario={stem!r})")
    return (f"no such file or directory, and no packaged scenario of that name "
            f"(packaged: {', '.join(names)}){_suggest(stem, names)}")


def _looks_like_path(s: str) -> bool:
    if not s.strip() or "\n" in s or s.lstrip().startswith(("{", "[")):
        return False
    if Path(s).exists():
        return True
    return ":" not in s or s.lower().endswith(SCENARIO_SUFFIXES)


def _load_file(path: Path, filename: str, default_name: Optional[str] = None,
               checks: Sequence[Check] = ()) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError([Problem(filename, None, None, f"cannot read: {e}")]) from None
    return _load_text(text, filename, is_json=path.suffix.lower() == ".json",
                      default_name=default_name, checks=checks)


def _load_text(text: str, filename: Optional[str], is_json: Optional[bool],
               default_name: Optional[str] = None, checks: Sequence[Check] = ()) -> Scenario:
    data, root = _parse(text, filename, is_json)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError([Problem(filename, 1, None,
                                     f"a scenario is a mapping (name:, series:, ...), not a "
                                     f"{type(data).__name__}")])
    if default_name and "name" not in data:
        data = dict(data, name=default_name)
    return _validate(data, root, filename, checks)


def _parse(text: str, filename: Optional[str], is_json: Optional[bool]):
    """(data, yaml node tree or None). Raises ScenarioError for syntax errors."""
    if is_json or (is_json is None and text.lstrip().startswith("{")):
        try:
            data = json.loads(text)
        except RecursionError:
            raise ScenarioError([Problem(filename, None, None, _TOO_DEEP)]) from None
        except json.JSONDecodeError as e:
            if is_json:
                raise ScenarioError([Problem(filename, e.lineno, None,
                                             f"JSON syntax error: {e.msg} (column {e.colno})")]) from None
        else:
            # The node tree only serves line numbers in problem reports: compose it when
            # there is a problem to report (large JSON data sets load several times faster).
            return data, lambda: _compose_json(text)
    try:
        root, data = _compose_and_construct(text, filename)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        msg = " ".join(str(x) for x in (e.context, e.problem) if x)
        raise ScenarioError([Problem(filename, line, None, f"YAML syntax error: {msg}")]) from None
    except yaml.YAMLError as e:
        raise ScenarioError([Problem(filename, None, None, f"YAML error: {e}")]) from None
    except RecursionError:
        raise ScenarioError([Problem(filename, None, None, _TOO_DEEP)]) from None
    return data, root


def _compose_json(text: str):
    try:
        return yaml.compose(text, Loader=_YamlLoader)
    except yaml.YAMLError:
        return None  # valid JSON that YAML cannot read (tabs): no line numbers


def _compose_and_construct(text: str, filename: Optional[str]):
    """Parse once: the node tree (for line numbers) and the data built from it. Duplicate
    keys are refused (checked before merge keys ``<<`` are flattened into the tree)."""
    loader = _YamlLoader(text)
    try:
        root = loader.get_single_node()
        problem = alias_problem(root)
        if problem:
            raise ScenarioError([Problem(filename, None, None, problem)])
        dupes = list(_duplicate_keys(root, filename))
        if dupes:
            raise ScenarioError(dupes)
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return root, data


def _duplicate_keys(node, filename, path=()):
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for k, v in node.value:
            key = getattr(k, "value", None)
            if isinstance(key, str):
                if key in seen and key != "<<":
                    yield Problem(filename, k.start_mark.line + 1, _format_path(path + (key,)),
                                  f"duplicate key {key!r} (first at line {seen[key]})")
                seen.setdefault(key, k.start_mark.line + 1)
            yield from _duplicate_keys(v, filename, path + (key,))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _duplicate_keys(item, filename, path + (i,))


# -- validation and error reporting ---------------------------------------------------------


_TOO_DEEP = "nested too deeply (lists and mappings more than a few hundred levels deep)"


def _validate(data: dict, root, filename: Optional[str], checks: Sequence[Check] = ()) -> Scenario:
    bad = surrogate_problem(data)
    if bad is not None:
        elems, message = bad
        if callable(root):
            root = root()
        raise ScenarioError([_located(elems, message, root, filename)])
    errors: list = []
    scenario = None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as e:
        errors = e.errors(include_url=False)
    extra = _run_checks(checks, data, filename)
    if not errors and not extra:
        return scenario
    if callable(root):
        root = root()
    problems = []
    seen = set()
    for err in errors:
        for p in _problems(err, data, root, filename):
            if (p.path, p.message) not in seen:
                seen.add((p.path, p.message))
                problems.append(p)
    for elems, message in extra:
        p = _located(elems, message, root, filename)
        if (p.path, p.message) not in seen:
            seen.add((p.path, p.message))
            problems.append(p)
    problems.sort(key=lambda p: (p.line or 0))
    raise ScenarioError(problems)


def _run_checks(checks: Sequence[Check], data, filename) -> list[tuple[tuple, str]]:
    """Every ``(path_elems, message)`` of the extra checks; a check that crashes is
    reported as a problem rather than hiding the others."""
    out: list[tuple[tuple, str]] = []
    for check in checks or ():
        try:
            for elems, message in check(data) or ():
                out.append((tuple(elems), str(message)))
        except Exception as exc:  # a bug in a check: say so, keep the other problems
            out.append(((), f"internal error in check {getattr(check, '__name__', check)}: "
                            f"{type(exc).__name__}: {exc}"))
    return out


def _located(elems: tuple, message: str, root, filename) -> Problem:
    return Problem(filename, _line(root, elems), _format_path(elems) or None, message)


def _check_problems(checks: Sequence[Check], data, root, filename) -> list[Problem]:
    return [_located(e, m, root, filename) for e, m in _run_checks(checks, data, filename)]


def _scenario_data(scenario: Scenario) -> dict:
    """The parts of an already built Scenario the extra checks look at (rules, faults,
    timeline), as data; series are left out (they can be large and are already valid)."""
    return {"rules": [g.model_dump(by_alias=True, exclude_none=True) for g in scenario.rules or []],
            "faults": list(scenario.faults or []), "timeline": list(scenario.timeline or [])}


_SELF_LOCATED = re.compile(r"^series\[(\d+)\]\.labels\.(\w+): (.*)$")


def _problems(err: dict, data, root, filename) -> list[Problem]:
    """Problems of one pydantic error; a scenario-level check may report several, each
    prefixed with its own path (``series[3].labels.ip: ...``, joined by ``; ``)."""
    msg = re.sub(r"^Value error, ", "", err.get("msg", ""))
    if not err.get("loc") and err.get("type") == "value_error" and _SELF_LOCATED.match(msg):
        out = []
        for part in re.split(r"; (?=series\[)", msg):
            m = _SELF_LOCATED.match(part)
            elems = ("series", int(m.group(1)), "labels", m.group(2))
            out.append(Problem(filename, _line(root, elems), _format_path(elems), m.group(3)))
        return out
    out = [_problem(err, data, root, filename)]
    if err.get("type") == "series_shape":
        out.extend(_near_miss_keys(err, data, root, filename))
    return out


_SHAPE_KEYS = ("series", "values", "labels", "samples", "metric", "generator")


def _near_miss_keys(err: dict, data, root, filename) -> list[Problem]:
    """A series whose shape cannot be told usually has a mistyped key (``metic:``): name
    each unknown key that is close to a known one."""
    from mockprom.scenario.model import ExplicitSeries, GeneratedSeries, NotationSeries

    item = err.get("input")
    if not isinstance(item, dict):
        return []
    known = {f.alias or n for m in (NotationSeries, ExplicitSeries, GeneratedSeries)
             for n, f in m.model_fields.items()}
    path_elems, _ = _data_path(tuple(err.get("loc", ())), data)
    out = []
    for key in item:
        if not isinstance(key, str) or key in known:
            continue
        hint = _suggest(key, _SHAPE_KEYS) or _suggest(key, sorted(known))
        if hint:
            elems = path_elems + (key,)
            out.append(Problem(filename, _line(root, elems), _format_path(elems),
                               f"unknown field {key!r}{hint}"))
    return out


def _problem(err: dict, data, root, filename) -> Problem:
    loc = tuple(err.get("loc", ()))
    etype = err.get("type", "")
    path_elems, _ = _data_path(loc, data, field_last=etype in ("missing", "extra_forbidden"))
    ctx = err.get("ctx") or {}
    msg = err.get("msg", "invalid")
    if etype == "extra_forbidden":
        name = str(loc[-1]) if loc else "?"
        msg = f"unknown field {name!r}" + _suggest(name, _allowed_fields(loc[:-1]))
    elif etype == "union_tag_invalid":
        disc = str(ctx.get("discriminator", "")).strip("'")
        if disc:
            path_elems = path_elems + (disc,)
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        tag = ctx.get("tag")
        msg = f"unknown {tag!r}, expected one of {', '.join(expected)}" + _suggest(str(tag), expected)
    elif etype == "union_tag_not_found":
        disc = str(ctx.get("discriminator", "")).strip("'")
        msg = f"missing required field {disc!r}"
    elif etype == "literal_error":
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        got = err.get("input")
        msg = f"unknown {got!r}, expected one of {', '.join(expected)}" + _suggest(str(got), expected)
    elif etype == "missing":
        msg = f"missing required field {str(loc[-1])!r}" if loc else "missing"
        path_elems = path_elems[:-1] if path_elems and path_elems[-1] == loc[-1] else path_elems
        return Problem(filename, _line(root, path_elems), _format_path(path_elems) or None, msg)
    elif etype in ("value_error", "assertion_error"):
        msg = re.sub(r"^(Value|Assertion) error, ", "", msg)
    elif etype == "series_shape":
        pass
    else:
        inp = err.get("input")
        if _secret_field(path_elems):
            msg = f"{msg} (got a {_yaml_type(inp)}; the value is not shown)"
        elif isinstance(inp, (str, int, float, bool)) or inp is None:
            msg = f"{msg} (got {inp!r})"
        else:
            msg = f"{msg} (got a {_yaml_type(inp)})"
    if etype in ("value_error", "assertion_error") and _secret_field(path_elems):
        msg = "invalid value (not shown: the field holds a secret)"
    return Problem(filename, _line(root, path_elems), _format_path(path_elems) or None, msg)


def _secret_field(path_elems: tuple) -> bool:
    """A credential field (``auth.password``, ``server.control_token``): its value is
    never echoed in a problem."""
    return (bool(path_elems) and isinstance(path_elems[-1], str)
            and is_secret(path_elems[-1]) and path_elems[-1] != "auth")


def _yaml_type(v) -> str:
    return {dict: "mapping", list: "list", int: "number", float: "number",
            bool: "boolean", str: "string"}.get(type(v), type(v).__name__)


def _suggest(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _data_path(loc: tuple, data, field_last: bool = True) -> tuple[tuple, bool]:
    """The path of an error in the input, dropping union tags pydantic adds to ``loc``
    (``field_last``: the last element names a field even when the input lacks it)."""
    cur = data
    out = []
    exists = True
    for i, el in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(cur, dict) and el in cur:
            out.append(el)
            cur = cur[el]
        elif isinstance(cur, (list, tuple)) and isinstance(el, int) and 0 <= el < len(cur):
            out.append(el)
            cur = cur[el]
        elif last and (field_last or isinstance(el, int)):
            out.append(el)
            exists = False
        # else: a union tag (e.g. 'generated', 'counter') that is not in the data
    return tuple(out), exists


def _format_path(elems) -> str:
    s = ""
    for el in elems:
        if isinstance(el, int):
            s += f"[{el}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", str(el)):
            s += ("." if s else "") + str(el)
        else:
            s += f"[{json.dumps(str(el))}]"
    return s


def _line(root, elems) -> Optional[int]:
    """The 1-based line of the deepest node on ``elems`` (a key's line for mappings)."""
    if root is None:
        return None
    node = root
    line = node.start_mark.line + 1
    for el in elems:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if getattr(k, "value", None) == str(el):
                    line = k.start_mark.line + 1
                    node = v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(el, int) and el < len(node.value):
            node = node.value[el]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _allowed_fields(loc: tuple) -> list[str]:
    """Field names (and aliases) of the model at ``loc`` (a pydantic loc with tags)."""
    current: Any = Scenario
    try:
        for el in loc:
            current = _unwrap(current)
            if isinstance(current, type) and issubclass(current, BaseModel):
                field = _field(current, el)
                if field is None:
                    return []
                current = field.annotation
                continue
            origin = typing.get_origin(current)
            args = typing.get_args(current)
            if origin in (list, tuple):
                current = args[el] if origin is tuple and len(args) > 1 and isinstance(el, int) else args[0]
            elif origin is dict:
                current = args[1]
            elif origin is Union:
                current = _union_member(args, el)
                if current is None:
                    return []
            else:
                return []
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            names = []
            for n, f in current.model_fields.items():
                names.append(f.alias or n)
            return names
    except Exception:  # best effort: no suggestion rather than a crash
        return []
    return []


def _unwrap(t):
    while True:
        origin = typing.get_origin(t)
        if origin is typing.Annotated:
            t = typing.get_args(t)[0]
            continue
        if origin is Union:
            args = [a for a in typing.get_args(t) if a is not type(None)]
            if len(args) == 1:
                t = args[0]
                continue
        return t


def _field(model, name):
    for n, f in model.model_fields.items():
        if n == name or f.alias == name:
            return f
    return None


def _union_member(args, tag):
    from pydantic import Tag
    for a in args:
        if typing.get_origin(a) is typing.Annotated:
            inner, *meta = typing.get_args(a)
            if any(isinstance(m, Tag) and m.tag == tag for m in meta):
                return inner
        m = _unwrap(a)
        if isinstance(m, type) and issubclass(m, BaseModel) and "kind" in m.model_fields:
            if tag in typing.get_args(m.model_fields["kind"].annotation):
                return m
        if isinstance(m, type) and issubclass(m, BaseModel) and m.__name__ == tag:
            return m
    return None


if __name__ == "__main__":  # python -m mockprom.scenario.loader: regenerate schema.json
    print(write_schema())
