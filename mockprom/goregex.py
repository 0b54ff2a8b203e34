"""Go's ``regexp`` in linear time: label matchers, ``label_replace`` and fault rules read
a regex as Prometheus does, and no regex can hold the server.

- Syntax and errors: a port of Go's ``regexp/syntax`` parser, so a pattern Prometheus
  refuses is refused with Go's words (``error parsing regexp: invalid repeat count:
  `{1001}```), and everything Go accepts is accepted (``\\p{Greek}``, ``[[:alpha:]]``,
  ``\\Q..\\E``, ``(?i)`` anywhere, octal escapes).
- Matching: RE2 (``google-re2``), the automaton engine Go's regexp is modelled on: time
  linear in the input, no backtracking, the same leftmost-first submatch semantics.

Where Prometheus versions differ, a ``Dialect`` says how (the PromQL dialect table picks
one; ``PROMETHEUS_2`` is 2.42's, ``PROMETHEUS_3`` 3.x's):

- ``dotall``: 3.x compiles matchers as ``^(?s:...)$`` (``.`` matches a newline), 2.42 as
  ``^(?:...)$``.
- ``anchored_check``: 2.42 compiles ``^(?:<pattern>)$`` before parsing the pattern alone,
  so some errors quote the anchored text (``missing closing ): `^(?:(a)$```); 3.x
  parses the pattern alone.
- ``angle_names``: ``(?<name>...)`` named groups (Go 1.22+; 2.42 has only ``(?P<name>``).
- ``newer_unicode``: Go 1.27's Unicode tables (Unicode 17 scripts, ``\\p{LC}``,
  ``\\p{Cn}``) rather than Go 1.19's (Unicode 13).
- ``size_error``: how a pattern over Go's size limit is refused (Go 1.19 reports an
  internal error, later releases ``expression too large``).
- ``literal_shortcut``: 3.x takes a matcher made of literals alone (``a|b|c``, nothing
  ``regexp.QuoteMeta`` would escape) as a set of strings without parsing it, so even
  bytes that are no UTF-8 pass there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import re2 as _re2mod
from re2 import _re2

__all__ = ["Dialect", "PROMETHEUS_2", "PROMETHEUS_3", "DEFAULT", "RegexError", "Regex",
           "syntax_error", "compile_matcher", "compile_search", "label_replace_regex"]


@dataclass(frozen=True)
class Dialect:
    dotall: bool = False
    anchored_check: bool = True
    angle_names: bool = False
    newer_unicode: bool = False
    size_error: str = "regexp/syntax: internal error"
    literal_shortcut: bool = False


PROMETHEUS_2 = Dialect()
PROMETHEUS_3 = Dialect(dotall=True, anchored_check=False, angle_names=True, newer_unicode=True,
                       size_error="expression too large", literal_shortcut=True)
DEFAULT = PROMETHEUS_2


class RegexError(ValueError):
    """A pattern Go refuses (or RE2 cannot run); ``str()`` is Go's message."""


# --- Go's error codes -------------------------------------------------------------------

_INVALID_CHAR_CLASS = "invalid character class"
_INVALID_CHAR_RANGE = "invalid character class range"
_INVALID_ESCAPE = "invalid escape sequence"
_INVALID_NAMED_CAPTURE = "invalid named capture"
_INVALID_PERL_OP = "invalid or unsupported Perl syntax"
_INVALID_REPEAT_OP = "invalid nested repetition operator"
_INVALID_REPEAT_SIZE = "invalid repeat count"
_INVALID_UTF8 = "invalid UTF-8"
_MISSING_BRACKET = "missing closing ]"
_MISSING_PAREN = "missing closing )"
_MISSING_REPEAT_ARGUMENT = "missing argument to repetition operator"
_TRAILING_BACKSLASH = "trailing backslash at end of expression"
_UNEXPECTED_PAREN = "unexpected )"
_NESTING_DEPTH = "expression nests too deeply"


class _Fail(Exception):
    def __init__(self, code: str, expr: str):
        super().__init__(code)
        self.code, self.expr = code, expr

    def message(self) -> str:
        return f"error parsing regexp: {self.code}: `{self.expr}`"


# --- Unicode class names Go knows ---------------------------------------------------------

_CATEGORIES = frozenset(
    "C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps "
    "S Sc Sk Sm So Z Zl Zp Zs".split())
_SCRIPTS_13 = frozenset("""
Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah Batak
Bengali Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal Carian
Caucasian_Albanian Chakma Cham Cherokee Chorasmian Common Coptic Cuneiform Cypriot
Cyrillic Deseret Devanagari Dives_Akuru Dogra Duployan Egyptian_Hieroglyphs Elbasan
Elymaic Ethiopic Georgian Glagolitic Gothic Grantha Greek Gujarati Gunjala_Gondi Gurmukhi
Han Hangul Hanifi_Rohingya Hanunoo Hatran Hebrew Hiragana Imperial_Aramaic Inherited
Inscriptional_Pahlavi Inscriptional_Parthian Javanese Kaithi Kannada Katakana Kayah_Li
Kharoshthi Khitan_Small_Script Khmer Khojki Khudawadi Lao Latin Lepcha Limbu Linear_A
Linear_B Lisu Lycian Lydian Mahajani Makasar Malayalam Mandaic Manichaean Marchen
Masaram_Gondi Medefaidrin Meetei_Mayek Mende_Kikakui Meroitic_Cursive
Meroitic_Hieroglyphs Miao Modi Mongolian Mro Multani Myanmar Nabataean Nandinagari
New_Tai_Lue Newa Nko Nushu Nyiakeng_Puachue_Hmong Ogham Ol_Chiki Old_Hungarian Old_Italic
Old_North_Arabian Old_Permic Old_Persian Old_Sogdian Old_South_Arabian Old_Turkic Oriya
Osage Osmanya Pahawh_Hmong Palmyrene Pau_Cin_Hau Phags_Pa Phoenician Psalter_Pahlavi
Rejang Runic Samaritan Saurashtra Sharada Shavian Siddham SignWriting Sinhala Sogdian
Sora_Sompeng Soyombo Sundanese Syloti_Nagri Syriac Tagalog Tagbanwa Tai_Le Tai_Tham
Tai_Viet Takri Tamil Tangut Telugu Thaana Thai Tibetan Tifinagh Tirhuta Ugaritic Vai
Wancho Warang_Citi Yezidi Yi Zanabazar_Square""".split())
# Added by the Unicode 14-17 tables of newer Go releases (and two categories)
_NEWER_NAMES = frozenset("""
Cypro_Minoan Old_Uyghur Tangsa Toto Vithkuqi Kawi Nag_Mundari Garay Gurung_Khema
Kirat_Rai Ol_Onal Sunuwar Todhri Tulu_Tigalari Beria_Erfe Sidetic Tai_Yo Tolong_Siki
LC Cn""".split())
_OLD_NAMES = _CATEGORIES | _SCRIPTS_13 | {"Any"}
_ALL_NAMES = _OLD_NAMES | _NEWER_NAMES
# \p{LC} is "cased letter"; RE2 lacks the alias
_LC = r"\p{Lu}\p{Ll}\p{Lt}"

_POSIX = frozenset(f"[:{neg}{n}:]" for neg in ("", "^") for n in (
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print",
    "punct", "space", "upper", "word", "xdigit"))
_PERL_CLASSES = frozenset("dDsSwW")

# --- the parse tree (enough of Go's to check its limits) --------------------------------

_LIT, _CLASS, _ANY, _ASSERT, _EMPTY, _CAPTURE, _STAR, _PLUS, _QUEST, _REPEAT, _CONCAT, \
    _ALT, _NOMATCH = range(13)
_PSEUDO = 100
_LPAREN, _VBAR = 100, 101

_MAX_REPEAT = 1000
_MAX_HEIGHT = 1000
_MAX_SIZE = (128 << 20) // 40


class _Re:
    __slots__ = ("op", "subs", "min", "max", "cap", "runes")

    def __init__(self, op: int, subs=(), mn: int = 0, mx: int = 0, cap: int = 0,
                 runes: int = 0):
        self.op, self.subs, self.min, self.max, self.cap, self.runes = op, subs, mn, mx, cap, runes


def _is_char_class(re: _Re) -> bool:
    return (re.op == _LIT and re.runes == 1) or re.op in (_CLASS, _ANY)


def _repeat_is_valid(re: _Re, n: int) -> bool:
    """Go's ``repeatIsValid``: nested counted repetitions multiply to at most ``n``."""
    todo = [(re, n)]
    while todo:
        node, n = todo.pop()
        if node.op == _REPEAT:
            m = node.max
            if m == 0:
                continue
            if m < 0:
                m = node.min
            if m > n:
                return False
            if m > 0:
                n //= m
        todo.extend((sub, n) for sub in node.subs)
    return True


def _height_and_size(root: _Re) -> tuple[int, int]:
    """Go's ``calcHeight`` and ``calcSize`` (compiled instructions), without recursion."""
    height: dict[int, int] = {}
    size: dict[int, int] = {}
    todo = [(root, False)]
    while todo:
        node, done = todo.pop()
        if not done:
            todo.append((node, True))
            todo.extend((sub, False) for sub in node.subs)
            continue
        subs_h = [height[id(s)] for s in node.subs]
        height[id(node)] = 1 + max(subs_h, default=0)
        sub_sizes = [size[id(s)] for s in node.subs]
        op = node.op
        if op == _LIT:
            sz = node.runes
        elif op in (_CAPTURE, _STAR):
            sz = 2 + sub_sizes[0]
        elif op in (_PLUS, _QUEST):
            sz = 1 + sub_sizes[0]
        elif op == _CONCAT:
            sz = sum(sub_sizes)
        elif op == _ALT:
            sz = sum(sub_sizes) + max(len(sub_sizes) - 1, 0)
        elif op == _REPEAT:
            sub = sub_sizes[0]
            if node.max == -1:
                sz = 2 + sub if node.min == 0 else 1 + node.min * sub
            else:
                sz = node.max * sub + (node.max - node.min)
        else:
            sz = 0
        size[id(node)] = min(max(1, sz), _MAX_SIZE + 1)
    return height[id(root)], size[id(root)]


def _parse_int(s: str, i: int) -> tuple[int, int, bool]:
    """Go's ``parseInt``: (value or -1 when too big, index after, ok)."""
    n = len(s)
    if i >= n or not "0" <= s[i] <= "9":
        return 0, i, False
    if i + 1 < n and s[i] == "0" and "0" <= s[i + 1] <= "9":
        return 0, i, False  # no leading zeros
    j = i
    while j < n and "0" <= s[j] <= "9":
        j += 1
    value = 0
    for ch in s[i:j]:
        if value >= 100_000_000:
            value = -1
            break
        value = value * 10 + ord(ch) - 48
    return value, j, True


def _unhex(c: Optional[str]) -> int:
    if c is None:
        return -1
    if "0" <= c <= "9":
        return ord(c) - 48
    if "a" <= c <= "f":
        return ord(c) - 87
    if "A" <= c <= "F":
        return ord(c) - 55
    return -1


def _isalnum(c: str) -> bool:
    return "0" <= c <= "9" or "A" <= c <= "Z" or "a" <= c <= "z"


class _Parser:
    """Go's ``regexp/syntax.Parse`` with the ``Perl`` flags, reduced to what decides
    errors; also writes the pattern out for RE2 (``out``) and records group names."""

    def __init__(self, s: str, dialect: Dialect):
        self.s = s
        self.dialect = dialect
        self.names = _ALL_NAMES if dialect.newer_unicode else _OLD_NAMES
        self.stack: list[_Re] = []
        self.num_cap = 0
        self.group_names: list[Optional[str]] = []  # by group number - 1
        self.out: list[str] = []
        self.unsupported: Optional[str] = None  # valid Go that RE2 cannot run
        self.height = 0
        # the first character that is no UTF-8 (a lone surrogate, or a byte the PromQL
        # string held as a surrogate escape): Go fails when its parser reaches it
        self.bad = _first_bad(s)

    def utf8(self, i: int, end: Optional[int] = None) -> None:
        """Go's ``nextRune``/``checkUTF8``: fail when ``[i, end)`` (or ``i``) holds the
        first non-UTF-8 character."""
        if i <= self.bad < (i + 1 if end is None else end):
            # checkUTF8 of a name (or \Q's literal) quotes the rest of that name only
            raise _Fail(_INVALID_UTF8, self.s[self.bad:end])

    # -- stack ----------------------------------------------------------------------------
    def push(self, re: _Re) -> _Re:
        st = self.stack
        if len(st) >= 2 and st[-1].op == _LIT and st[-2].op == _LIT:
            st[-2].runes += st.pop().runes  # Go's maybeConcat: merge literal runs
        st.append(re)
        return re

    def literal(self) -> None:
        self.push(_Re(_LIT, runes=1))

    def concat(self) -> None:
        st = self.stack
        if len(st) >= 2 and st[-1].op == _LIT and st[-2].op == _LIT:
            st[-2].runes += st.pop().runes
        i = len(st)
        while i > 0 and st[i - 1].op < _PSEUDO:
            i -= 1
        subs = st[i:]
        del st[i:]
        self.push(_collapse(subs, _CONCAT) if subs else _Re(_EMPTY))

    def alternate(self) -> None:
        st = self.stack
        i = len(st)
        while i > 0 and st[i - 1].op < _PSEUDO:
            i -= 1
        subs = st[i:]
        del st[i:]
        self.push(_collapse(subs, _ALT) if subs else _Re(_NOMATCH))

    def swap_vertical_bar(self) -> bool:
        st = self.stack
        n = len(st)
        if n >= 3 and st[-2].op == _VBAR and _is_char_class(st[-1]) and _is_char_class(st[-3]):
            st[-3] = _Re(_CLASS)
            st.pop()
            return True
        if n >= 2 and st[-2].op == _VBAR:
            st[-2], st[-1] = st[-1], st[-2]
            return True
        return False

    def right_paren(self) -> None:
        self.concat()
        if self.swap_vertical_bar():
            self.stack.pop()
        self.alternate()
        st = self.stack
        if len(st) < 2:
            raise _Fail(_UNEXPECTED_PAREN, self.s)
        re1, re2 = st.pop(), st.pop()
        if re2.op != _LPAREN:
            raise _Fail(_UNEXPECTED_PAREN, self.s)
        self.push(re1 if re2.cap == 0 else _Re(_CAPTURE, [re1], cap=re2.cap))

    def repeat(self, op: int, mn: int, mx: int, before: int, after: int,
               last_repeat: Optional[int]) -> int:
        s = self.s
        if after < len(s) and s[after] == "?":
            after += 1
        if last_repeat is not None:
            raise _Fail(_INVALID_REPEAT_OP, s[last_repeat:after])
        st = self.stack
        if not st or st[-1].op >= _PSEUDO:
            raise _Fail(_MISSING_REPEAT_ARGUMENT, s[before:after])
        re = _Re(op, [st[-1]], mn, mx)
        st[-1] = re
        if op == _REPEAT and (mn >= 2 or mx >= 2) and not _repeat_is_valid(re, _MAX_REPEAT):
            raise _Fail(_INVALID_REPEAT_SIZE, s[before:after])
        return after

    # -- the main loop ----------------------------------------------------------------------
    def parse(self) -> _Re:
        s, out = self.s, self.out
        n = len(s)
        t = 0
        last_repeat: Optional[int] = None
        while t < n:
            repeat = None
            c = s[t]
            self.utf8(t)
            if c == "(":
                if t + 1 < len(s) and s[t + 1] == "?":
                    t = self.perl_flags(t)
                else:
                    self.num_cap += 1
                    self.group_names.append(None)
                    self.push(_Re(_LPAREN, cap=self.num_cap))
                    out.append("(")
                    t += 1
            elif c == "|":
                self.concat()
                if not self.swap_vertical_bar():
                    self.push(_Re(_VBAR))
                out.append("|")
                t += 1
            elif c == ")":
                self.right_paren()
                out.append(")")
                t += 1
            elif c in "^$":
                self.push(_Re(_ASSERT))
                out.append(c)
                t += 1
            elif c == ".":
                self.push(_Re(_ANY))
                out.append(".")
                t += 1
            elif c == "[":
                t = self.char_class(t)
            elif c in "*+?":
                op = {"*": _STAR, "+": _PLUS, "?": _QUEST}[c]
                after = self.repeat(op, 0, 0, t, t + 1, last_repeat)
                out.append(s[t:after])
                repeat, t = t, after
            elif c == "{":
                mn, mx, after, ok = self.parse_repeat(t)
                if not ok:
                    self.literal()
                    out.append(r"\{")
                    t += 1
                else:
                    if mn < 0 or mn > _MAX_REPEAT or mx > _MAX_REPEAT or (0 <= mx < mn):
                        raise _Fail(_INVALID_REPEAT_SIZE, s[t:after])
                    end = self.repeat(_REPEAT, mn, mx, t, after, last_repeat)
                    out.append(s[t:end])
                    repeat, t = t, end
            elif c == "\\":
                t = self.backslash(t)
            else:
                self.literal()
                out.append(c)
                t += 1
            last_repeat = repeat
        self.concat()
        if self.swap_vertical_bar():
            self.stack.pop()
        self.alternate()
        if len(self.stack) != 1:
            raise _Fail(_MISSING_PAREN, s)
        root = self.stack[0]
        self.height, size = _height_and_size(root)
        if self.height > _MAX_HEIGHT:
            raise _Fail(_NESTING_DEPTH, s)
        if size > _MAX_SIZE:
            raise _Fail(self.dialect.size_error, s)
        return root

    def parse_repeat(self, i: int) -> tuple[int, int, int, bool]:
        """Go's ``parseRepeat``: ``{n}``, ``{n,}`` or ``{n,m}`` at ``i``."""
        s, n = self.s, len(self.s)
        mn, j, ok = _parse_int(s, i + 1)
        if not ok or j >= n:
            return 0, 0, i, False
        if s[j] != ",":
            mx = mn
        else:
            j += 1
            if j >= n:
                return 0, 0, i, False
            if s[j] == "}":
                mx = -1
            else:
                mx, j, ok = _parse_int(s, j)
                if not ok:
                    return 0, 0, i, False
                if mx < 0:
                    mn = -1
        if j >= n or s[j] != "}":
            return 0, 0, i, False
        return mn, mx, j + 1, True

    def perl_flags(self, i: int) -> int:
        """Go's ``parsePerlFlags`` at ``(?``: a named group, a group or flags."""
        s, n = self.s, len(self.s)
        with_p = n - i > 4 and s[i + 2] == "P" and s[i + 3] == "<"
        with_name = self.dialect.angle_names and n - i > 3 and s[i + 2] == "<"
        if with_p or with_name:
            start = i + (4 if with_p else 3)
            end = s.find(">", i)
            if end < 0:
                raise _Fail(_INVALID_NAMED_CAPTURE, s[i:])
            name = s[start:end]
            self.utf8(start, end)
            if not name or not all(ch == "_" or _isalnum(ch) for ch in name):
                raise _Fail(_INVALID_NAMED_CAPTURE, s[i:end + 1])
            self.num_cap += 1
            self.group_names.append(name)
            self.push(_Re(_LPAREN, cap=self.num_cap))
            self.out.append("(")  # RE2 gets a plain group: Go allows repeated names
            return end + 1
        t = i + 2
        sign, saw_flag = 1, False
        while t < n:
            self.utf8(t)
            c = s[t]
            t += 1
            if c in "imsU":
                saw_flag = True
            elif c == "-":
                if sign < 0:
                    break
                sign, saw_flag = -1, False
            elif c in ":)":
                if sign < 0 and not saw_flag:
                    break
                if c == ":":
                    self.push(_Re(_LPAREN))
                self.out.append(s[i:t])
                return t
            else:
                break
        raise _Fail(_INVALID_PERL_OP, s[i:t])

    def backslash(self, t: int) -> int:
        s, out = self.s, self.out
        n = len(s)
        if t + 1 < n:
            c = s[t + 1]
            if c in "AbBz":
                self.push(_Re(_ASSERT))
                out.append(s[t:t + 2])
                return t + 2
            if c == "C":
                raise _Fail(_INVALID_ESCAPE, s[t:t + 2])
            if c == "Q":
                end = s.find(r"\E", t + 2)
                lit = s[t + 2:] if end < 0 else s[t + 2:end]
                self.utf8(t + 2, t + 2 + len(lit))
                for _ in lit:
                    self.literal()
                out.append(r"\Q" + lit + r"\E" if lit else "")
                return n if end < 0 else end + 2
        after = self.unicode_class(t, in_class=False)
        if after is not None:
            self.push(_Re(_CLASS))
            return after
        if t + 1 < n and s[t + 1] in _PERL_CLASSES:
            self.push(_Re(_CLASS))
            out.append(s[t:t + 2])
            return t + 2
        _, after = self.escape(t)
        self.literal()
        out.append(s[t:after])
        return after

    def escape(self, i: int) -> tuple[int, int]:
        """Go's ``parseEscape`` at a backslash: (rune, index after)."""
        s, n = self.s, len(self.s)
        t = i + 1
        if t >= n:
            raise _Fail(_TRAILING_BACKSLASH, "")
        self.utf8(t)
        c = s[t]
        t += 1
        if ord(c) < 0x80 and not _isalnum(c):
            return ord(c), t
        octal = c == "0" or ("1" <= c <= "7" and t < n and "0" <= s[t] <= "7")
        if octal:
            r = ord(c) - 48
            for _ in range(2):
                if t >= n or not "0" <= s[t] <= "7":
                    break
                r = r * 8 + ord(s[t]) - 48
                t += 1
            return r, t
        if c == "x" and t < n:
            c = s[t]
            t += 1
            if c == "{":
                nhex = r = 0
                while True:
                    if t >= n:
                        raise _Fail(_INVALID_ESCAPE, s[i:t])
                    c = s[t]
                    t += 1
                    if c == "}":
                        break
                    v = _unhex(c)
                    if v < 0:
                        raise _Fail(_INVALID_ESCAPE, s[i:t])
                    r = r * 16 + v
                    if r > 0x10FFFF:
                        raise _Fail(_INVALID_ESCAPE, s[i:t])
                    nhex += 1
                if nhex == 0:
                    raise _Fail(_INVALID_ESCAPE, s[i:t])
                return r, t
            x = _unhex(c)
            y = _unhex(s[t] if t < n else None)
            if t < n:
                t += 1
            if x < 0 or y < 0:
                raise _Fail(_INVALID_ESCAPE, s[i:t])
            return x * 16 + y, t
        simple = {"a": 7, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}
        if c in simple:
            return simple[c], t
        raise _Fail(_INVALID_ESCAPE, s[i:t])

    def unicode_class(self, t: int, in_class: bool) -> Optional[int]:
        """Go's ``parseUnicodeClass`` at ``t``: the index after ``\\p{Name}``/``\\pN`` or
        None when there is none; writes RE2's spelling to ``out``."""
        s, n = self.s, len(self.s)
        if n - t < 2 or s[t] != "\\" or s[t + 1] not in "pP":
            return None
        sign = -1 if s[t + 1] == "P" else 1
        u = t + 2
        self.utf8(u)
        c = s[u] if u < n else None
        if u < n:
            u += 1
        if c != "{":
            seq = s[t:u]
            name = seq[2:]
        else:
            end = s.find("}", t)
            if end < 0:
                raise _Fail(_INVALID_CHAR_RANGE, s[t:])
            seq, u = s[t:end + 1], end + 1
            name = s[t + 3:end]
            self.utf8(t + 3, end)
        if name.startswith("^"):
            sign, name = -sign, name[1:]
        if name not in self.names:
            raise _Fail(_INVALID_CHAR_RANGE, seq)
        if name == "LC":
            if in_class and sign < 0:
                self._unsupported(seq)
            self.out.append(_LC if in_class else f"[{'^' if sign < 0 else ''}{_LC}]")
        elif name in _NEWER_NAMES and not _re2_knows(name):
            self._unsupported(seq)
        else:
            self.out.append(seq)
        return u

    def _unsupported(self, what: str) -> None:
        if self.unsupported is None:
            self.unsupported = what

    def char_class(self, i: int) -> int:
        """Go's ``parseClass`` at ``[``: the index after the closing ``]``."""
        s, n, out = self.s, len(self.s), self.out
        t = i + 1
        out.append("[")
        if t < n and s[t] == "^":
            out.append("^")
            t += 1
        first = True
        while t >= n or s[t] != "]" or first:
            first = False
            self.utf8(t)
            if n - t > 2 and s[t] == "[" and s[t + 1] == ":":
                close = s.find(":]", t + 2)
                if close >= 0:
                    name = s[t:close + 2]
                    if name not in _POSIX:
                        raise _Fail(_INVALID_CHAR_RANGE, name)
                    out.append(name)
                    t = close + 2
                    continue
            after = self.unicode_class(t, in_class=True)
            if after is not None:
                t = after
                continue
            if n - t >= 2 and s[t] == "\\" and s[t + 1] in _PERL_CLASSES:
                out.append(s[t:t + 2])
                t += 2
                continue
            rng = t
            lo, t = self.class_char(t, i)
            hi = lo
            if n - t >= 2 and s[t] == "-" and s[t + 1] != "]":
                t += 1
                hi, t = self.class_char(t, i)
                if hi < lo:
                    raise _Fail(_INVALID_CHAR_RANGE, s[rng:t])
            out.append(s[rng:t])
        out.append("]")
        self.push(_Re(_CLASS))
        return t + 1

    def class_char(self, t: int, class_start: int) -> tuple[int, int]:
        s = self.s
        if t >= len(s):
            raise _Fail(_MISSING_BRACKET, s[class_start:])
        self.utf8(t)
        if s[t] == "\\":
            return self.escape(t)
        return ord(s[t]), t + 1


def _first_bad(s: str) -> int:
    """The index of the first character that is no UTF-8 (past the end when none)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return len(s) + 1


def _collapse(subs: list, op: int) -> _Re:
    if len(subs) == 1:
        return subs[0]
    flat = []
    for sub in subs:
        flat.extend(sub.subs if sub.op == op else (sub,))
    return _Re(op, flat)


# --- RE2 ----------------------------------------------------------------------------------

_ANCHOR_BOTH = _re2.RE2.Anchor.ANCHOR_BOTH
_UNANCHORED = _re2.RE2.Anchor.UNANCHORED
_NO_SPAN = (-1, -1)


def _options(capture: bool, max_mem: int = 8 << 20) -> "_re2mod.Options":
    o = _re2mod.Options()
    o.log_errors = False
    o.never_capture = not capture
    o.max_mem = max_mem
    return o


@lru_cache(maxsize=None)
def _re2_knows(name: str) -> bool:
    return _re2.RE2(("\\p{%s}" % name).encode(), _options(False)).ok()


def _re2_compile(pattern: str, capture: bool):
    """An RE2 program; a large one gets more memory once. Raises RegexError."""
    raw = pattern.encode("utf-8", "surrogatepass")
    for mem in (8 << 20, 64 << 20):
        prog = _re2.RE2(raw, _options(capture, mem))
        if prog.ok():
            return prog
        error = prog.error()
        if "too large" not in str(error) and "too big" not in str(error):
            break
    raise RegexError(f"error parsing regexp: expression too large: `{pattern}`")


def _check(pattern: str, dialect: Dialect) -> _Parser:
    """Parse as the dialect's Prometheus does; raises ``_Fail`` with Go's error."""
    if dialect.anchored_check:
        _Parser("^(?:" + pattern + ")$", dialect).parse()
    parser = _Parser(pattern, dialect)
    parser.parse()
    if not dialect.anchored_check and parser.height >= _MAX_HEIGHT:
        # 3.x compiles ^(?s:<pattern>)$ after parsing: one level deeper
        raise _Fail(_NESTING_DEPTH, ("^(?s:" if dialect.dotall else "^(?:") + pattern + ")$")
    return parser


def syntax_error(pattern: str, dialect: Dialect = DEFAULT) -> Optional[str]:
    """Go's error for ``pattern`` as Prometheus compiles a matcher (``error parsing
    regexp: <what>: `<expr>```), or None when it is valid. A pattern that is valid in
    Go but that mockprom's engine cannot run gets ``error parsing regexp: `x` is valid
    RE2 but not supported by mockprom``."""
    try:
        _compiled(pattern, dialect, True)
    except RegexError as exc:
        return str(exc)
    return None


class Match:
    """A submatch: ``group(n)`` / ``group(name)`` as Go's ``Expand`` reads them (a name
    used by several groups means the first one that took part)."""

    __slots__ = ("re", "_text", "_spans")

    def __init__(self, regex: "Regex", text: bytes, spans):
        self.re, self._text, self._spans = regex, text, spans

    def group(self, which=0) -> Optional[str]:
        if isinstance(which, str):
            for index in self.re.name_indexes.get(which, ()):
                found = self.group(index)
                if found is not None:
                    return found
            return None
        if not 0 <= which < len(self._spans):
            return None
        lo, hi = self._spans[which]
        if (lo, hi) == _NO_SPAN:
            return None
        return self._text[lo:hi].decode("utf-8", "surrogatepass")


class Regex:
    """A compiled pattern. ``fullmatch(s)`` / ``search(s)`` answer booleans; ``submatch``
    gives the groups of a full match. Thread-safe."""

    __slots__ = ("pattern", "groups", "groupindex", "name_indexes", "_prog", "_capturing",
                 "_anchor", "_memo", "_translated")

    _MEMO_LIMIT = 4096

    def __init__(self, pattern: str, translated: str, names: list, anchored: bool):
        self.pattern = pattern
        self.groups = len(names)
        self.name_indexes: dict[str, tuple[int, ...]] = {}
        for index, name in enumerate(names, 1):
            if name is not None:
                self.name_indexes[name] = self.name_indexes.get(name, ()) + (index,)
        self.groupindex = {name: idx[0] for name, idx in self.name_indexes.items()}
        self._anchor = _ANCHOR_BOTH if anchored else _UNANCHORED
        self._prog = _re2_compile(translated, capture=False)
        self._capturing = None
        self._memo: dict[str, bool] = {}
        self._translated = translated

    def _hit(self, value: str) -> bool:
        raw = value.encode("utf-8", "surrogatepass")
        return self._prog.Match(self._anchor, raw, 0, len(raw))[0] != _NO_SPAN

    def matches(self, value: str) -> bool:
        """Whether the pattern matches ``value`` (in full, for a matcher)."""
        memo = self._memo
        hit = memo.get(value)
        if hit is None:
            hit = self._hit(value)
            if len(memo) < self._MEMO_LIMIT:
                memo[value] = hit
        return hit

    fullmatch = matches
    search = matches

    def submatch(self, value: str) -> Optional[Match]:
        """The groups of a match of ``value`` (Go's ``FindStringSubmatchIndex``)."""
        if self._capturing is None:
            self._capturing = _re2_compile(self._translated, capture=True)
        raw = value.encode("utf-8", "surrogatepass")
        spans = self._capturing.Match(self._anchor, raw, 0, len(raw))
        if spans[0] == _NO_SPAN:
            return None
        return Match(self, raw, spans)



_QUOTE_META = frozenset("\\.+*?()[]{}^$")


class LiteralSet:
    """A matcher regex of literals only, as 3.x's ``optimizeAlternatingLiterals`` keeps
    it: the strings it matches, compared as they are."""

    groups = 0
    groupindex: dict = {}

    def __init__(self, pattern: str):
        self.pattern = pattern
        self.strings = frozenset(pattern.split("|"))

    def matches(self, value: str) -> bool:
        return value in self.strings

    fullmatch = matches


@lru_cache(maxsize=128)
def _compiled(pattern: str, dialect: Dialect, anchored: bool) -> Regex:
    if anchored and dialect.literal_shortcut and not _QUOTE_META.intersection(pattern):
        return LiteralSet(pattern)
    try:
        if anchored:
            parser = _check(pattern, dialect)
        else:
            parser = _Parser(pattern, dialect)
            parser.parse()
    except _Fail as fail:
        raise RegexError(fail.message()) from None
    if parser.unsupported:
        raise RegexError(f"error parsing regexp: `{parser.unsupported}` is valid RE2 but "
                         "not supported by mockprom")
    body = "".join(parser.out)
    if anchored:
        body = ("(?s:" if dialect.dotall else "(?:") + body + ")"
    return Regex(pattern, body, parser.group_names, anchored)


def compile_matcher(pattern: str, dialect: Dialect = DEFAULT) -> Regex:
    """A label matcher's regex as the dialect's Prometheus builds it (anchored at both
    ends; ``.`` matching newlines with ``dotall``). Raises ``RegexError`` with Go's
    message."""
    return _compiled(pattern, dialect, True)


def compile_search(pattern: str, dialect: Dialect = DEFAULT) -> Regex:
    """Go's ``regexp.Compile(pattern)``, searched anywhere in a text: what
    ``label_replace`` compiles (with its own anchors) and a fault rule's ``expr``."""
    return _compiled(pattern, dialect, False)


def label_replace_regex(regex: str, dialect: Dialect = DEFAULT) -> Regex:
    """The regex ``label_replace`` builds: ``^(?:<regex>)$`` (``^(?s:<regex>)$`` with
    ``dotall``), compiled once and searched, as Prometheus does."""
    return compile_search(("^(?s:" if dialect.dotall else "^(?:") + regex + ")$", dialect)
