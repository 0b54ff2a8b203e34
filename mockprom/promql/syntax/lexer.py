"""Prometheus's PromQL lexer (``promql/parser/lex.go``), for each release line.

``Lexer(text, syntax).tokens()`` ends with an EOF or an ERROR token. A token is
``(kind, pos, value)``; keyword kinds are lower case, values keep their case; ``pos``
counts characters (``golang.format_position`` turns it into Go's byte columns)."""

from __future__ import annotations

from mockprom.promql.syntax.golang import go_quote, go_rune, go_unicode, is_rune_error
from mockprom.promql.syntax.rows import Syntax

KEYWORDS = frozenset(("bool", "by", "group_left", "group_right", "ignoring", "offset",
                      "on", "without"))
OPERATOR_WORDS = frozenset(("and", "or", "unless", "atan2"))
PREPROCESSORS = frozenset(("start", "end"))

_SPACE = " \t\n\r"
_DIGITS = "0123456789"
_HEX = "0123456789abcdefABCDEF"


class _Stop(Exception):
    pass


def is_alpha(c: str) -> bool:
    return c == "_" or ("a" <= c <= "z") or ("A" <= c <= "Z")


def is_alnum(c: str) -> bool:
    return is_alpha(c) or ("0" <= c <= "9")


class Lexer:
    def __init__(self, text: str, syntax: Syntax):
        self.s = text
        self.syntax = syntax
        self.pos = self.start = 0
        self.width = 0
        self.paren_depth = 0
        self.brace_open = self.bracket_open = self.got_colon = False
        self.in_duration = False  # Prometheus 3's lexDurationExpr state
        self.got_duration = False
        self.out: list = []

    # cursor
    def next(self) -> str:
        if self.pos >= len(self.s):
            self.width = 0
            return ""
        self.width = 1
        self.pos += 1
        return self.s[self.pos - 1]

    def peek(self) -> str:
        return self.s[self.pos] if self.pos < len(self.s) else ""

    def backup(self) -> None:
        self.pos -= self.width

    def accept(self, valid: str) -> bool:
        c = self.next()
        if c and c in valid:
            return True
        self.backup()
        return False

    def accept_run(self, valid: str) -> None:
        while self.accept(valid):
            pass

    def emit(self, kind: str) -> None:
        self.out.append((kind, self.start, self.s[self.start:self.pos]))
        self.start = self.pos

    def error(self, msg: str) -> None:
        self.out.append(("ERROR", self.start, msg))
        raise _Stop

    def tokens(self) -> list:
        try:
            while True:
                if self.brace_open:
                    self.inside_braces()
                elif self.in_duration:
                    self.duration_expr()
                else:
                    self.statements()
        except _Stop:
            return self.out

    def skip_comment(self) -> None:
        while self.pos < len(self.s) and self.s[self.pos] != "\n":
            self.pos += 1
        self.start = self.pos  # comments never reach the parser

    def statements(self) -> None:
        if self.s.startswith("#", self.pos):
            return self.skip_comment()
        c = self.next()
        if c == "":
            if self.paren_depth != 0:
                self.error("unclosed left parenthesis")
            if self.bracket_open:
                self.error("unclosed left bracket")
            self.emit("EOF")
            raise _Stop
        if c == ",":
            return self.emit(",")
        if c in _SPACE:
            return self.space()
        if c in "*/%+-^":
            return self.emit(c)
        if c == "=":
            t = self.peek()
            if t == "=":
                self.next()
                return self.emit("==")
            if t == "~":
                self.error(f"unexpected character after '=': {go_rune(t)}")
            return self.emit("=")
        if c == "!":
            t = self.next()
            if t != "=":
                self.error(f"unexpected character after '!': {go_rune(t)}")
            return self.emit("!=")
        if c in "<>":
            if self.peek() == "=":
                self.next()
                return self.emit(c + "=")
            return self.emit(c)
        if c in _DIGITS or (c == "." and self.peek() and self.peek() in _DIGITS):
            self.backup()
            return self.number_or_duration()
        if c in "\"'":
            return self.string(c)
        if c == "`":
            return self.raw_string()
        if is_alpha(c) or c == ":":
            if not self.bracket_open:
                self.backup()
                return self.keyword_or_identifier()
            if self.got_colon:
                self.error(f"unexpected colon {go_rune(c)}")
            self.got_colon = True
            return self.emit(":")
        if c == "(":
            self.paren_depth += 1
            return self.emit("(")
        if c == ")":
            return self.close_paren()
        if c == "{":
            self.brace_open = True
            return self.emit("{")
        if c == "[":
            if self.bracket_open:
                self.error(f"unexpected left bracket {go_rune(c)}")
            self.got_colon = False
            self.emit("[")
            while self.peek() and self.peek() in _SPACE:
                self.next()
            self.start = self.pos
            self.bracket_open = True
            if self.syntax.durations:
                self.in_duration = True
                return
            return self.duration()
        if c == "]":
            if not self.bracket_open:
                self.error(f"unexpected right bracket {go_rune(c)}")
            self.bracket_open = False
            return self.emit("]")
        if c == "@":
            return self.emit("@")
        self.error(f"unexpected character: {go_rune(c)}")

    def close_paren(self) -> None:
        self.emit(")")
        self.paren_depth -= 1
        if self.paren_depth < 0:
            self.out.pop()  # in Go the error takes the token's place
            self.error("unexpected right parenthesis ')'")

    def duration_expr(self) -> None:
        """Prometheus 3's ``lexDurationExpr``: right after ``[`` (and after what it lexes
        itself) arithmetic on numbers and durations."""
        c = self.next()
        if c == "":
            self.error("unexpected end of input in duration expression")
        if c == "]":
            self.emit("]")
            self.bracket_open = self.got_colon = self.in_duration = False
            return
        if c == ":":
            self.emit(":")  # an error below takes the token's place, as in Go
            if not self.got_duration:
                self.out.pop()
                self.error("unexpected colon before duration in duration expression")
            if self.got_colon:
                self.out.pop()
                self.error("unexpected repeated colon in duration expression")
            self.got_colon = True
            return
        if c == "(":
            self.emit("(")
            self.paren_depth += 1
            return
        if c == ")":
            return self.close_paren()
        if c in _SPACE:
            return self.space()
        if c in "+-*/%^":
            return self.emit(c)
        if c in _DIGITS or (c == "." and self.peek() and self.peek() in _DIGITS):
            self.backup()
            self.got_duration = True
            self.in_duration = False
            return self.number_or_duration()
        self.error(f"unexpected character in duration expression: {go_rune(c)}")

    def inside_braces(self) -> None:
        if self.s.startswith("#", self.pos):
            return self.skip_comment()
        c = self.next()
        if c == "":
            self.error("unexpected end of input inside braces")
        if c in _SPACE:
            return self.space()
        if is_alpha(c):
            while is_alnum(self.peek()):
                self.next()
            return self.emit("IDENT")
        if c == ",":
            return self.emit(",")
        if c in "\"'":
            return self.string(c)
        if c == "`":
            return self.raw_string()
        if c == "=":
            if self.next() == "~":
                return self.emit("=~")
            self.backup()
            return self.emit("=")
        if c == "!":
            t = self.next()
            if t == "~":
                return self.emit("!~")
            if t == "=":
                return self.emit("!=")
            self.error(f"unexpected character after '!' inside braces: {go_rune(t)}")
        if c == "{":
            self.error(f"unexpected left brace {go_rune(c)}")
        if c == "}":
            self.brace_open = False
            return self.emit("}")
        self.error(f"unexpected character inside braces: {go_rune(c)}")

    def space(self) -> None:
        while self.peek() and self.peek() in _SPACE:
            self.next()
        self.start = self.pos

    def keyword_or_identifier(self) -> None:
        while True:
            c = self.next()
            if not (is_alnum(c) or c == ":") or c == "":
                break
        self.backup()
        word = self.s[self.start:self.pos]
        low = word.lower()
        if low in ("inf", "nan"):
            return self.emit("NUMBER")
        if (low in self.syntax.aggregators or low in KEYWORDS or low in OPERATOR_WORDS
                or low in PREPROCESSORS):
            return self.emit(low)
        return self.emit("METRIC_IDENT" if ":" in word else "IDENT")

    def scan_number(self) -> bool:
        if self.syntax.number_underscores:
            return self._scan_number_3()
        digits = _DIGITS
        if self.accept("0") and self.accept("xX"):
            digits = _HEX
        self.accept_run(digits)
        if self.accept("."):
            self.accept_run(digits)
        if self.accept("eE"):
            self.accept("+-")
            self.accept_run(_DIGITS)
        return not is_alnum(self.peek())

    def _is(self, valid: str) -> bool:
        c = self.peek()
        return bool(c) and c in valid

    def _scan_number_3(self) -> bool:
        """Prometheus 3's ``scanNumber``: digit separators and stricter forms."""
        initial = self.pos
        digits = _DIGITS
        if self.accept("0") and self.accept("xX"):
            self.accept("_")
            digits = _HEX
        self.accept(".")
        self.accept(digits)
        dot = exponent = False
        while self._is(digits + "._eE"):
            if self._is(".") and dot:
                self.accept(".")
                return False
            if self._is("eE") and exponent:
                self.accept("eE")
                return False
            if self.accept("."):
                dot = True
                if self.accept("_."):
                    return False
                if len(digits) > 10:
                    return False
                continue
            if self.accept("eE"):
                exponent = True
                self.accept("+-")
                if self.accept("._eE") or self.peek() == "":
                    return False
                continue
            if self.accept("_"):
                if self.accept("._eE") or self.peek() == "":
                    return False
                continue
            self.accept_run(digits)
        if self.pos == initial:
            return False
        return not is_alnum(self.peek())

    def accept_remaining_duration(self) -> bool:
        if not self.accept("smhdwy"):
            return False
        self.accept("s")
        while self.accept(_DIGITS):
            self.accept_run(_DIGITS)
            if not self.accept("smhdw"):
                return False
            self.accept("s")
        return not is_alnum(self.next())

    def number_or_duration(self) -> None:
        if self.scan_number():
            return self.emit("NUMBER")
        if self.accept_remaining_duration():
            self.backup()
            return self.emit("DURATION")
        self.error("bad number or duration syntax: "
                   + go_quote(self.s[self.start:self.pos]))

    def duration(self) -> None:
        """Prometheus 2.42's ``lexDuration`` (right after ``[``)."""
        if self.scan_number():
            self.error("missing unit character in duration")
        if not self.accept_remaining_duration():
            self.error("bad duration syntax: " + go_quote(self.s[self.start:self.pos]))
        self.backup()
        self.emit("DURATION")

    def string(self, quote: str) -> None:
        while True:
            c = self.next()
            if c == "\\":
                self.escape(quote)
            elif is_rune_error(c):
                self.error("invalid UTF-8 rune")
            elif c == "" or c == "\n":
                self.error("unterminated quoted string")
            elif c == quote:
                return self.emit("STRING")

    def escape(self, quote: str) -> None:
        c = self.next()
        if c and c in "abfnrtv\\" + quote:
            return
        if c == "":
            self.error("escape sequence not terminated")
        if c in "01234567":
            count, base, limit = 3, 8, 255
        elif c == "x":
            c, count, base, limit = self.next(), 2, 16, 255
        elif c == "u":
            c, count, base, limit = self.next(), 4, 16, 0x10FFFF
        elif c == "U":
            c, count, base, limit = self.next(), 8, 16, 0x10FFFF
        else:
            self.error(f"unknown escape sequence {go_unicode(c)}")
        value = 0
        while count > 0:
            digit = int(c, 16) if c and c in _HEX else 16
            if digit >= base:
                if c == "":
                    self.error("escape sequence not terminated")
                self.error(f"illegal character {go_unicode(c)} in escape sequence")
            value = value * base + digit
            count -= 1
            if count > 0:
                c = self.next()
        if value > limit or 0xD800 <= value < 0xE000:
            self.error("escape sequence is an invalid Unicode code point")

    def raw_string(self) -> None:
        while True:
            c = self.next()
            if is_rune_error(c):
                self.error("invalid UTF-8 rune")
            if c == "":
                self.error("unterminated raw string")
            if c == "`":
                return self.emit("STRING")
