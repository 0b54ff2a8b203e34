"""The README's examples run as written: its Python blocks execute from the repository
root, and its curl query is one the embedded default scenario answers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_readme_has_python_examples():
    assert len(PYTHON_BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_python_example_runs(index):
    proc = subprocess.run([sys.executable, "-c", PYTHON_BLOCKS[index]], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_quick_start_query_answers_on_the_default_scenario():
    from mockprom.server import MockPrometheus

    query = re.search(r"curl -s \S+/api/v1/query --data-urlencode 'query=([^']*)'", README).group(1)
    with MockPrometheus() as prom:
        import requests

        answer = requests.get(prom.url + "/api/v1/query", params={"query": query}).json()
    assert answer["status"] == "success"
    assert answer["data"]["result"], "the quick-start query returns series on the demo"
