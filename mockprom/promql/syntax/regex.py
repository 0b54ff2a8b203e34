"""Regex checks of label matchers: Go's ``regexp`` error for a matcher's pattern, as
Prometheus reports it (2.42 compiled ``^(?:<re>)$``; 3.x parses the raw pattern), and
whether a matcher matches the empty string."""

from __future__ import annotations

import re

from mockprom.scenario.labels import Matcher


def _unterminated_class(rest: str, suffix: str) -> str:
    """Go 2.42 reads on into the anchoring ``)$``: a range there may be invalid first."""
    rest += suffix
    i = 2 if rest.startswith("[^") else 1
    while i + 2 < len(rest):
        if rest[i] == "\\":
            i += 2
            continue
        if rest[i + 1] == "-" and rest[i + 2] != "]" and rest[i + 2] < rest[i]:
            return f"invalid character class range: `{rest[i:i + 3]}`"
        i += 1
    return f"missing closing ]: `{rest}`"


def matches_empty(op: str, value: str) -> bool:
    if op == "=":
        return value == ""
    if op == "!=":
        return value != ""
    try:
        hit = Matcher.of("x", "=~", value).matches("")
    except (re.error, ValueError):
        return False  # an invalid regex is reported on its own
    return hit if op == "=~" else not hit


_RE2_UNSUPPORTED = re.compile(r"\(\?(?:<=|<!|=|!|<|>|P=|P>|#)")
_POSIX_CLASS = re.compile(r"\[:\^?[a-z]+:\]")
_BAD_FLAG = re.compile(r"\(\?[imsU-]*(?!P<)[^imsU\-:)]")
_POSSESSIVE = re.compile(r"(?<!\\)[*+?}]\+")


def regex_error(value: str, syntax):
    """Go's ``regexp`` error for a matcher's regex (None when valid), as the Prometheus
    of ``syntax`` (a ``rows.Syntax``) reports it; constructs Python's ``re`` cannot run
    are refused too."""
    prefix, suffix = syntax.regex_wrap
    anchored = prefix + value + suffix
    i = 0
    while i < len(value) - 1:  # RE2 has octal escapes (\\0, \\12, \\130) but no backreferences
        if value[i] == "\\":
            digit, after = value[i + 1], value[i + 2:i + 3]
            if digit in "89" or (digit in "1234567" and not (after and after in "01234567")):
                return f"error parsing regexp: invalid escape sequence: `{value[i:i + 2]}`"
            if digit in "01234567":  # neither promql_parser nor Python read it as RE2 does
                octal = re.match(r"[0-7]{1,3}", value[i + 1:]).group(0)
                return (f"error parsing regexp: `\\{octal}` is valid RE2 but not "
                        "supported by mockprom")
            i += 2
            continue
        i += 1
    found = _RE2_UNSUPPORTED.search(value) or None
    if found:
        return f"error parsing regexp: invalid or unsupported Perl syntax: `{found.group(0)}`"
    found = _POSIX_CLASS.search(value)
    if found:  # Python's re would read it as a plain set: refuse, never answer wrongly
        return (f"error parsing regexp: `{found.group(0)}` is valid RE2 but not supported "
                "by mockprom")
    found = _BAD_FLAG.search(value)
    if found:
        return f"error parsing regexp: invalid or unsupported Perl syntax: `{found.group(0)}`"
    found = _POSSESSIVE.search(value)
    if found:
        return f"error parsing regexp: invalid nested repetition operator: `{found.group(0)}`"
    try:
        Matcher.of("x", "=~", value)
        return None
    except re.error as exc:
        msg, pos = exc.msg, exc.pos or 0
    if msg.startswith("missing ), unterminated subpattern"):
        detail = f"missing closing ): `{anchored}`"
    elif msg.startswith("unbalanced parenthesis"):
        detail = f"unexpected ): `{anchored}`"
    elif msg.startswith("unterminated character set"):
        detail = _unterminated_class(value[pos:], suffix)
    elif msg.startswith("nothing to repeat"):
        detail = f"missing argument to repetition operator: `{value[pos:pos + 1]}`"
    elif msg.startswith("multiple repeat"):
        detail = f"invalid nested repetition operator: `{value[max(pos - 1, 0):pos + 1]}`"
    elif msg.startswith("bad escape") and value[pos + 1:pos + 2] in tuple("pPQEC"):
        # valid RE2 (Unicode classes, quoting) that Python's re cannot run
        detail = f"`{value[pos:pos + 2]}` is valid RE2 but not supported by mockprom"
    elif msg.startswith("bad escape"):
        detail = f"invalid escape sequence: `{value[pos:pos + 2]}`"
    elif msg.startswith("bad character range "):
        detail = f"invalid character class range: `{msg[len('bad character range '):]}`"
    elif msg.startswith("min repeat greater than max repeat"):
        brace = value.rfind("{", 0, pos + 1)
        close = value.find("}", pos)
        detail = f"invalid repeat count: `{value[brace:close + 1]}`"
    elif msg.startswith(("unknown extension", "unknown flag", "missing -, : or )")):
        detail = f"invalid or unsupported Perl syntax: `{value[pos:pos + 3]}`"
    else:
        detail = f"{msg} (not supported by mockprom): `{value}`"
    return "error parsing regexp: " + detail
