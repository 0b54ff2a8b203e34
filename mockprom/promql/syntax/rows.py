"""How PromQL's grammar differs between the release lines mockprom emulates: one row per
line in the ``promql_syntax`` version table. The lexer, grammar, checks and printer read
their row; nothing compares version strings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from mockprom import versions
from mockprom.promql.syntax.signatures import FUNCTIONS_V2_42, Signature


@dataclass(frozen=True)
class Syntax:
    """The grammar of one release line."""

    functions: Mapping[str, Signature]


SYNTAX_2_42 = Syntax(functions=FUNCTIONS_V2_42)

# Prometheus 3.5: being filled in (until then it reads queries as 2.42 does).
SYNTAX_3_5 = Syntax(functions=FUNCTIONS_V2_42)

SYNTAX = versions.table("promql_syntax", {"2.42": SYNTAX_2_42, "3.5": SYNTAX_3_5})


def syntax_of(emulation=None) -> Syntax:
    """The row of ``emulation`` (None: the default version, ``versions.resolve()``)."""
    return SYNTAX[emulation if emulation is not None else versions.resolve()]
