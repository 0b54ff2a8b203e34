"""Guards for scenario text before it is turned into data: YAML alias expansion within a
budget (a few hundred bytes of nested aliases, "billion laughs", expand to billions of
nodes), no recursive aliases, and no lone surrogates (which no UTF-8 answer can carry).
Each guard answers a message for the loader to report, or None."""

from __future__ import annotations

from typing import Optional

import yaml

MAX_ALIAS_NODES = 500_000  # nodes aliases may add beyond the document's own


def alias_problem(root) -> Optional[str]:
    """Whether the YAML node tree ``root`` (aliases are shared nodes) expands past the
    budget or into itself. Linear in the distinct nodes: sizes are memoized."""
    if root is None:
        return None
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    distinct = 0
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            size = 1 + sum(sizes[id(child)] for child in _children(node))
            sizes[key] = size
            if size - distinct > MAX_ALIAS_NODES:
                return (f"YAML aliases expand to more than {MAX_ALIAS_NODES} extra nodes "
                        "(nested anchors and aliases): expand them in the file")
            continue
        if key in sizes:
            continue
        if key in on_path:
            return "a YAML alias refers to a node that contains it (a recursive structure)"
        on_path.add(key)
        distinct += 1
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                return ("a YAML alias refers to a node that contains it (a recursive "
                        "structure)")
            if id(child) not in sizes:
                stack.append((child, False))
    return None


def _children(node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def surrogate_problem(data) -> Optional[tuple[tuple, str]]:
    """The path of the first string (key or value) holding a lone surrogate (``"\\ud800"``
    in JSON), with a message; None when there is none."""
    stack = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if _has_surrogate(value):
                return path, "invalid Unicode: a lone surrogate (\\ud800-\\udfff) in a string"
        elif isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and _has_surrogate(k):
                    return path, "invalid Unicode: a lone surrogate (\\ud800-\\udfff) in a key"
                stack.append((path + (k,), v))
        elif isinstance(value, list):
            stack.extend((path + (i,), v) for i, v in enumerate(value))
    return None


def _has_surrogate(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
