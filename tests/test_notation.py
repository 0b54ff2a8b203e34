"""The expanding series notation, against Prometheus's documentation, the upstream PromQL
corpus's load lines, and promtool itself (which implements the same notation)."""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path

import pytest

from realprom import release  # noqa: F401  (a fixture)

from mockprom.scenario.notation import expand, parse_selector, parse_series_line
from mockprom.scenario.samples import is_stale

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "promql-testdata"
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/promql-testdata")


def corpus_load_lines() -> list[str]:
    """Every series line of every ``load`` block of the upstream corpus."""
    lines = []
    for f in sorted(CORPUS.glob("*.test")):
        in_load = False
        for raw in f.read_text().splitlines():
            if raw.startswith("load "):
                in_load = True
                continue
            if in_load and raw.startswith((" ", "\t")) and raw.strip():
                lines.append(raw.strip())
            elif not raw.strip() or not raw.startswith((" ", "\t")):
                in_load = False
    return lines


# -- the examples of Prometheus's documentation (configuration/unit_testing_rules.md) --------

@pytest.mark.parametrize("text, expected", [
    ("-2+4x3", [-2, 2, 6, 10]),
    ("1-2x4", [1, -1, -3, -5, -7]),
    ("1x4", [1, 1, 1, 1, 1]),
    ("1 _x3 stale", [1, None, None, None, "stale"]),
])
def test_documented_examples(text, expected):
    got = expand(text)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        if e == "stale":
            assert is_stale(g)
        else:
            assert g == e


def test_ramp_accumulates_by_repeated_addition_like_go():
    got = expand("0+0.1x10")
    acc, want = 0.0, []
    for _ in range(11):
        want.append(acc)
        acc += 0.1
    assert got == want  # bit-identical, not 0.1 * i
    assert got[3] != 0.1 * 3 or got[3] == 0.30000000000000004


def test_blank_repeats_n_times_but_values_n_plus_one():
    assert expand("_x3") == [None] * 3
    assert len(expand("7x3")) == 4 and len(expand("7+1x3")) == 4


def test_special_values_and_number_forms():
    got = expand("Inf -Inf +Inf NaN nan inf 1e3 .5 -0.25 010 08")
    assert got[:3] == [math.inf, -math.inf, math.inf]
    assert all(math.isnan(v) for v in got[3:5]) and got[5] == math.inf
    assert got[6:9] == [1000.0, 0.5, -0.25]
    assert got[9] == 8.0  # Go ParseInt(s, 0, 64): a leading 0 is octal
    assert got[10] == 8.0  # not valid octal: ParseFloat


def test_zero_x_is_repetition_not_hex():
    assert expand("0x3") == [0.0] * 4


@pytest.mark.parametrize("bad", ["foo", "1x", "1x3.5", "1+2", "1 + 2x3", "stalex3", "_3",
                                 "1ab", "sum", "1+x3", "1,2", "Infinity"])
def test_bad_sequences_are_errors(bad):
    with pytest.raises(ValueError):
        expand(bad)


def test_selector_with_escapes_and_quotes():
    labels = parse_selector('metric:name{a="x\\"y\\n", b=\'z\', c=`raw\\n`,}')
    assert labels == {"__name__": "metric:name", "a": 'x"y\n', "b": "z", "c": "raw\\n"}
    assert parse_selector('{__name__="m", a="1"}') == {"__name__": "m", "a": "1"}
    for bad in ['m{a=~"x"}', 'm{a="x"', "m{a=x}", 'm{a="1"} extra']:
        with pytest.raises(ValueError):
            parse_selector(bad)


def test_every_corpus_load_line_parses():
    lines = corpus_load_lines()
    assert len(lines) > 100
    for line in lines:
        labels, values = parse_series_line(line)
        assert labels, line
        assert values, line


def test_corpus_ramps_follow_the_rule():
    """Each ``a+bxn`` item of the corpus expands to n+1 values stepping by b."""
    item_re = re.compile(r"^(-?[0-9.]+)([+-][0-9.]+)x([0-9]+)$")
    checked = 0
    for line in corpus_load_lines():
        _, i = line.split("}", 1) if "}" in line else (None, line.split(None, 1)[1])
        for item in i.split():
            m = item_re.match(item)
            if not m:
                continue
            a, b, n = float(m.group(1)), float(m.group(2)), int(m.group(3))
            got = expand(item)
            assert len(got) == n + 1
            assert got[0] == a and math.isclose(got[-1], a + n * b, rel_tol=1e-9, abs_tol=1e-9)
            checked += 1
    assert checked > 50


# -- against promtool ------------------------------------------------------------------------

TRICKY = ["010 -2+1.5x2 _x2 1e3 stale 4", "0+0.1x12", "1x3 _ 2 _x2 3-0.25x4",
          "+5 -5 .5 5. 3e-2", "stale 1 stale _ 2", "0x3 1e3x2 -1.5e-1+2.5e1x3 07 -010",
          "Inf -inf +Inf 1E2 0.1+0.2x3"]


def _promtool_case(name: str, values: str, limit: int = 16) -> str:
    """A promtool unit test asserting mockprom's expansion at every slot (1m apart)."""
    expanded = expand(values)[:limit]
    evals = []
    last_present = None
    for i, v in enumerate(expanded):
        if v is None:
            if last_present is not None and not is_stale(expanded[last_present]):
                evals.append((f"timestamp({name})", i, f"{last_present * 60}", "{}"))
            continue
        last_present = i
        if is_stale(v):
            evals.append((name, i, None, None))
        elif not math.isnan(v):
            text = {math.inf: ".inf", -math.inf: "-.inf"}.get(v, repr(v))
            evals.append((name, i, text, name))
    out = []
    for expr, i, value, labels in evals:
        out.append(f"      - expr: '{expr}'\n        eval_time: {i}m\n")
        if value is None:
            out.append("        exp_samples: []\n")
        else:
            out.append(f"        exp_samples:\n          - labels: '{labels}'\n"
                       f"            value: {value}\n")
    return (f"  - interval: 1m\n    input_series:\n      - series: '{name}'\n"
            f"        values: '{values}'\n    promql_expr_test:\n" + "".join(out))


@pytest.mark.realprom
def test_expansion_matches_promtool(release, tmp_path):
    """The notation expands as 2.42's and 3.5's promtool expand it."""
    from realprom import require_binaries
    _, promtool = require_binaries(release.line)
    values = list(dict.fromkeys(TRICKY + [line.split("}", 1)[1].strip() if "}" in line
                                          else line.split(None, 1)[1]
                                          for line in corpus_load_lines()]))
    cases = [_promtool_case(f"m{i}", v) for i, v in enumerate(values) if v]
    body = "rule_files: []\nevaluation_interval: 1m\ntests:\n" + "".join(cases)
    f = tmp_path / "notation_test.yaml"
    f.write_text(body)
    res = subprocess.run([promtool, "test", "rules", str(f)], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
