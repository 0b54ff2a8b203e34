"""Regexes read as Go reads them, matched in linear time (``mockprom.goregex``).

The real ``promtool`` of Prometheus 2.42 (and 3.5.3 when present) is the oracle: the
same patterns are checked by ``promtool check rules`` (errors) and ``promtool test
rules`` (which label values match, what ``label_replace`` makes of them)."""

from __future__ import annotations

import os
import random
import re
import subprocess
import threading

import pytest
import yaml

from mockprom import goregex
from mockprom.goregex import PROMETHEUS_2, PROMETHEUS_3, compile_matcher, syntax_error
import realprom

PROM3_BIN = os.path.join(os.environ.get("MOCKPROM_PROM3_DIR", os.path.expanduser(
    "~/.cache/mockprom/prometheus-3")), "bin")


# --- Go syntax ------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern, matching, not_matching", [
    (r"\p{L}+", ["abc", "日本", "αβγ"], ["a1", ""]),
    (r"\pL\pN", ["a1", "é٣"], ["11"]),
    (r"\p{Greek}+", ["αβγ"], ["abc"]),
    (r"\P{Greek}", ["a"], ["α"]),
    (r"[[:alpha:]]+", ["abc"], ["ab1"]),
    (r"[[:^digit:]]", ["a"], ["1"]),
    (r"\Qa.b\E", ["a.b"], ["axb"]),
    (r"a(?i)b|c", ["aB", "ab", "C"], ["AB", "aC"]),
    (r"\141\x62\x{63}", ["abc"], ["a"]),
    (r"a{,2}", ["a{,2}"], ["aa"]),
    (r"(?U)a+", ["aaa"], ["b"]),
    (r"(?P<x>a)(?P<x>b)", ["ab"], ["a"]),
    (r"\d+", ["123"], ["١٢٣"]),  # \d is ASCII in Go
])
def test_go_syntax_is_accepted_and_matches_as_go(pattern, matching, not_matching):
    assert syntax_error(pattern) is None
    regex = compile_matcher(pattern)
    assert [v for v in matching if regex.matches(v)] == matching
    assert [v for v in not_matching if regex.matches(v)] == []


@pytest.mark.parametrize("pattern, dialect, message", [
    ("a{1001}", PROMETHEUS_2, "invalid repeat count: `{1001}`"),
    ("(a{500}){3}", PROMETHEUS_2, "invalid repeat count: `{3}`"),
    ("a**", PROMETHEUS_2, "invalid nested repetition operator: `**`"),
    ("(a", PROMETHEUS_2, "missing closing ): `^(?:(a)$`"),
    ("(a", PROMETHEUS_3, "missing closing ): `(a`"),
    ("a)|(b", PROMETHEUS_2, "unexpected ): `a)|(b`"),
    (r"\Qabc", PROMETHEUS_2, r"missing closing ): `^(?:\Qabc)$`"),
    ("(?<n>a)", PROMETHEUS_2, "invalid or unsupported Perl syntax: `(?<`"),
    ("[z-a]", PROMETHEUS_2, "invalid character class range: `z-a`"),
    (r"\p{Zzzz}", PROMETHEUS_2, r"invalid character class range: `\p{Zzzz}`"),
    ("[[:foo:]]", PROMETHEUS_2, "invalid character class range: `[:foo:]`"),
    (r"\8", PROMETHEUS_2, r"invalid escape sequence: `\8`"),
    (r"\C", PROMETHEUS_2, r"invalid escape sequence: `\C`"),
    ("[a", PROMETHEUS_2, "missing closing ]: `[a)$`"),
    ("[a", PROMETHEUS_3, "missing closing ]: `[a`"),
])
def test_go_errors_in_go_words(pattern, dialect, message):
    assert syntax_error(pattern, dialect) == "error parsing regexp: " + message
    with pytest.raises(goregex.RegexError):
        compile_matcher(pattern, dialect)


def test_newer_go_accepts_angle_named_groups_and_newer_unicode():
    for pattern in ("(?<n>a)", r"\p{Kawi}"):
        assert syntax_error(pattern, PROMETHEUS_2) is not None
        assert syntax_error(pattern, PROMETHEUS_3) is None


def test_dot_matches_newline_only_in_the_dotall_dialect():
    assert not compile_matcher("a.b", PROMETHEUS_2).matches("a\nb")
    assert compile_matcher("a.b", PROMETHEUS_3).matches("a\nb")
    assert not compile_matcher("(?-s:a.b)", PROMETHEUS_3).matches("a\nb")


def test_label_replace_regex_groups_expand_as_go():
    regex = goregex.label_replace_regex("(?P<host>[^:]+):(\\d+)")
    match = regex.submatch("db-1:9100")
    assert match.group(0) == "db-1:9100"
    assert match.group("host") == "db-1" and match.group(2) == "9100"
    assert regex.submatch("nope") is None


def _finishes(fn, seconds: float = 20.0) -> bool:
    done = threading.Event()

    def run():
        fn()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done.wait(seconds)


@pytest.mark.parametrize("pattern", ["(.+)+b", "(a*)*b", "(a|aa)+b", "(x+x+)+y",
                                     "(.*a){12}", "(?:a?){30}a{30}"])
def test_catastrophic_patterns_never_hold_the_matcher(pattern):
    """Backtracking engines take exponential time on these; RE2 takes linear time."""
    regex = compile_matcher(pattern)
    subject = "a" * 30_000
    assert _finishes(lambda: regex.matches(subject))


# --- the real promtool as oracle ------------------------------------------------------------

def _promtools() -> list[tuple[str, goregex.Dialect]]:
    _, promtool = realprom.require_binaries()
    tools = [(promtool, PROMETHEUS_2)]
    third = os.path.join(PROM3_BIN, "promtool")
    if os.access(third, os.X_OK):
        tools.append((third, PROMETHEUS_3))
    return tools


def _quote(value: str) -> str:
    """A PromQL string literal of ``value``; bytes that are no UTF-8 (held as surrogate
    escapes, as the parser holds them) become ``\\xNN``."""
    text = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") \
        .replace("\t", "\\t")
    return '"' + "".join(f"\\x{ord(c) - 0xDC00:02x}" if "\udc80" <= c <= "\udcff" else c
                         for c in text) + '"'


CURATED = [
    "(a", "a{1001}", "(?<n>a)", "a**", r"\p{greek}", r"\p{L}", r"\pL", r"\p{Greek}",
    r"\p{Any}", r"\p{LC}", r"\p{Kawi}", r"\p{^Greek}", r"\pN", r"\p{Zzzz}", r"\Qa.b\E",
    "[[:alpha:]]", "[[:foo:]]", r"\C", "x{2}{3}", "(a{500}){3}", "a{1000}", "a{2,1}",
    "a{,5}", r"\8", r"\1", r"\12", "(?i)abc", "(?z)", "(?P<n>a)", "(?P<>a)", "(?P=n)", "[a",
    "a)", "\\", "*", "(*)", "a|*", "[z-a]", r"\x{110000}", r"\x{10FFFF}", "(?i-)", "(?-)",
    "(?:", "(?", "a{1001", r"[\d-z]", "(?s).", r"\Z", r"\e", r"\G", "a)|(b", r"\Qabc",
    "(?P<a>x)(?P<a>y)", "(.+)+b", "a{01}", "x*??", "x**?", "+", "?", "{1}", "a{1,2", "[]a]",
    "[^]a]", "[a-]", r"[\Q]\E]", r"\x", r"\x4", r"\xZZ", r"\x{}", r"\p", r"\p{", r"\p{L",
    r"[\p{L}]", "(?P<na-me>a)", "(?P<name", "[[:alpha:]", "[[:alpha]", r"[\x{110000}]",
    r"[a-\d]", "a{2}*", "((a{10}){10}){10}", "((a{10}){10}){11}", "(a{7}){142}",
    r"[\d-\w]", "\\é", "é", r"a\Q)|(\E", r"[\r-\n]", "x{1001,}", "x{0,1001}",
    "x{99999999999}", "(" * 999 + "a" + ")" * 999, "(" * 1001 + "a" + ")" * 1001,
    "a{1000}" * 4000,
    # bytes that are no UTF-8 (\xff in the PromQL string): where Go's parser meets them
    "\udcff.*", "a|\udcff", "\udcff|b.", "**\udcff", "[a\udcff]", "\udcff", "a-\udcff",
    "(?P<a\udcff>x)", "(?i\udcff)", "x{2\udcff}", "[\udcff-a]", "\\p{L\udcff}",
]


def _random_patterns(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    atoms = list("ab.^$|()[]{}*+?-\\,:=<>!PpQEdwsxz0179_") + [
        "(?", "(?P<", "(?<", "[:", ":]", "[[:alpha:]]", "\\p{", "\\pL", "\\Q", "\\E", "{2}",
        "{1,3}", "{1001}", "{,2}", "(?i)", "(?s:", "\\x{", "é", "}", "L}", "Greek}", "[^", "-]"]
    found: set[str] = set()
    while len(found) < count:
        found.add("".join(rng.choice(atoms) for _ in range(rng.randint(1, 10))))
    return sorted(found)


def _promtool_errors(promtool: str, patterns: list[str], tmp_path) -> dict[int, str]:
    """``promtool check rules`` on one recording rule per pattern: rule index -> error."""
    rules = [{"record": f"r{i}", "expr": '{__name__="x", l=~%s}' % _quote(p)}
             for i, p in enumerate(patterns)]
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": rules}]},
                                   allow_unicode=True))
    out = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True,
                         text=True, errors="surrogateescape", timeout=300)
    found = {}
    for m in re.finditer(r'rule (\d+), "r\d+": could not parse expression: 1:\d+: parse error: '
                         r"(error parsing regexp: .*?`)(?=\n\S|\n?\Z)", out.stdout + out.stderr,
                         re.S):
        found[int(m.group(1)) - 1] = m.group(2)
    return found


@pytest.mark.realprom
def test_errors_are_prometheus_errors(tmp_path):
    """Every curated pattern and 1,500 seeded random ones get Prometheus's own verdict,
    word for word (``\\p{Cn}``/``\\P{LC}`` in a class, valid in 3.5 only, are the known
    exceptions: RE2 lacks those tables)."""
    patterns = CURATED + _random_patterns(11, 1500)
    for promtool, dialect in _promtools():
        real = _promtool_errors(promtool, patterns, tmp_path)
        wrong = [(p, real.get(i), syntax_error(p, dialect)) for i, p in enumerate(patterns)
                 if syntax_error(p, dialect) != real.get(i)]
        assert wrong == [], f"{promtool}: {wrong[:5]}"


VALUES = ["a", "b", "ab", "abc", "aaa", "A", "Ab", "x\ny", "\n", "é", "É", "日本", "ſ", "k",
          "K", "a.b", "a{2}", "{", "}", "1", "12", "a b", " ", "_", "-", "\\", "αβγ", "api",
          "node-exporter", "\t", "a\n", "z", "aZ9_", "[", "ab|cd", "x" * 30, "db-1:9100"]


def _promtool_test(promtool: str, tests: list[dict], tmp_path) -> str:
    series = [{"series": "x{v=%s}" % _quote(v), "values": "1"} for v in VALUES]
    doc = {"rule_files": [], "evaluation_interval": "1m",
           "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": tests}]}
    path = tmp_path / "test.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    out = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True,
                         text=True, timeout=300)
    return "" if out.returncode == 0 else out.stdout + out.stderr


@pytest.mark.realprom
def test_matching_is_prometheus_matching(tmp_path):
    """Which label values each valid pattern selects, as ``promtool test rules`` checks."""
    patterns = CURATED + _random_patterns(12, 1500)
    for promtool, dialect in _promtools():
        tests = []
        for p in patterns:
            if syntax_error(p, dialect) is not None:
                continue
            regex = compile_matcher(p, dialect)
            hits = [v for v in VALUES if regex.matches(v)]
            if len(hits) == len(VALUES):
                continue  # nothing to learn (and a matcher on every value is fine)
            tests.append({"expr": "x{v=~%s}" % _quote(p), "eval_time": "0m",
                          "exp_samples": [{"labels": "x{v=%s}" % _quote(v), "value": 1}
                                          for v in hits]})
        assert len(tests) > 300
        assert _promtool_test(promtool, tests, tmp_path) == ""


@pytest.mark.realprom
def test_label_replace_is_prometheus_label_replace(tmp_path):
    from mockprom.promql.functions_labels import go_expand

    cases = [("(.*)", "$1-x"), ("(?P<h>[^:]+):(\\d+)", "${h}/$2"), ("a(b)?", "[$1]"),
             ("(a)|(b)", "$1$2$3"), ("(?P<n>a)(?P<n>b)?", "$n"), ("(.)(.)", "$2$1$$"),
             (".*", "$0"), ("(\\pL+)", "${1}x"), ("a)|(b", "[$1]"), ("(?i)(A)", "$1$1")]
    for promtool, dialect in _promtools():
        tests = []
        for regex, repl in cases:
            if dialect is PROMETHEUS_3 and regex == "a)|(b":
                continue  # 3.x reads it the same way; one dialect is enough
            compiled = goregex.label_replace_regex(regex, dialect)
            samples = []
            for v in VALUES:
                m = compiled.submatch(v)
                labels = {"v": v}
                if m is not None:
                    got = go_expand(repl, m)
                    if got:
                        labels["out"] = got
                body = ", ".join(f"{k}={_quote(val)}" for k, val in sorted(labels.items()))
                samples.append({"labels": "x{%s}" % body, "value": 1})
            tests.append({"expr": "label_replace(x, \"out\", %s, \"v\", %s)"
                                  % (_quote(repl), _quote(regex)),
                          "eval_time": "0m", "exp_samples": samples})
        assert _promtool_test(promtool, tests, tmp_path) == ""
