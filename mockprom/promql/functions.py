"""The one registry of PromQL functions: each function's signature and implementation.

An implementation is called as ``impl(ctx, args, call)``:
- ``ctx``: the ``EvalContext`` (steps, start/end, lookback, warnings);
- ``args``: the evaluated arguments, by declared type: ``"scalar"`` -> float64 array
  (one value per step), ``"vector"`` -> list of ``StepSeries``, ``"matrix"`` -> list of
  ``RangeSeries``, ``"string"`` -> ``str``;
- ``call``: the ``Call`` node (``absent`` needs the matchers of its argument).
It returns a list of ``StepSeries`` (return type ``"vector"``) or a float64 array
(``"scalar"``), with the input's labels: for a function that ``drops_name`` (every one
taking a range vector but ``last_over_time``; the math, date, clamping and histogram
functions) the engine removes the metric name as the emulated Prometheus does (at once,
or at the end of the query with delayed name removal) and checks for duplicate label
sets.

The implementations (Prometheus 2.42 semantics, every function but the native-histogram
ones) live in ``functions_math`` (element-wise, ``sort``, ``scalar``...),
``functions_date``, ``functions_rate`` (``rate`` family, ``changes``, ``resets``),
``functions_over_time``, ``functions_trend`` (``deriv``, ``predict_linear``,
``holt_winters``), all on the range plumbing of ``functions_windows``, ``functions_labels`` (``label_*``, ``absent*``) and ``functions_histogram``
(``histogram_quantile``); importing this module registers them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Tuple


@dataclass(frozen=True)
class FunctionDef:
    name: str
    arg_types: Tuple[str, ...]  # declared argument types, in order
    return_type: str  # "vector" or "scalar"
    impl: Callable
    optional_args: int = 0  # how many trailing arguments may be left out
    variadic: bool = False  # the last argument type may repeat (label_join)
    drops_name: bool = False  # the result loses the metric name
    raw_args: Tuple[int, ...] = ()  # arguments passed as nodes, not evaluated
    uses_storage: bool = False  # called with the evaluator (its store) as 4th argument


FUNCTIONS: dict[str, FunctionDef] = {}


def register(name: str, arg_types: Tuple[str, ...], return_type: str = "vector",
             optional_args: int = 0, variadic: bool = False,
             drops_name: Optional[bool] = None, raw_args: Tuple[int, ...] = (),
             uses_storage: bool = False):
    """Decorator: ``@register("abs", ("vector",), drops_name=True)``. ``drops_name``
    defaults to whether the function takes a range vector."""

    def wrap(impl: Callable) -> Callable:
        drops = ("matrix" in arg_types) if drops_name is None else drops_name
        FUNCTIONS[name] = FunctionDef(name, tuple(arg_types), return_type, impl,
                                      optional_args, variadic, drops, tuple(raw_args),
                                      uses_storage)
        return impl

    return wrap


# The implementations register themselves on import (kept last: they import ``register``).
from mockprom.promql import (  # noqa: E402,F401
    functions_date,
    functions_histogram,
    functions_labels,
    info,
    functions_math,
    functions_over_time,
    functions_rate,
    functions_trend,
)
from mockprom.promql import functions_native  # noqa: E402,F401  (after the others)
