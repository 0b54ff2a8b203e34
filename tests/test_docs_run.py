"""Docs that run: every fenced code block of README.md and docs/*.md is classified by an
HTML comment on the line above it (blank lines between are allowed), and each classified
block is run, validated, left to the test that runs it, or skipped with a reason. An
unclassified block fails ``test_every_block_is_classified`` until someone decides.

    <!-- doc-test: run -->            python: a script; sh: a bash script (-euo pipefail)
    <!-- doc-test: pytest [NAME] -->  python: a test module (NAME, default test_example.py)
                                      that pytest runs in the project
    <!-- doc-test: file NAME -->      written into the project as NAME (a conftest.py, a
                                      pyproject.toml) for the later blocks of its document
    <!-- doc-test: server [ARGS] -->  run (sh or python) beside a mockprom server: the
                                      block's own ``mockprom serve ...`` line, started in
                                      the background, else ``mockprom serve ARGS``; the
                                      server listens on a free port that replaces ``:9090``
                                      in the block. ARGS may start with ``in-checkout``:
                                      the project is then a copy of this checkout (a fresh
                                      clone), not an empty directory
    <!-- doc-test: validate -->       a scenario or a fragment of one: ``mockprom validate``
                                      accepts it
    <!-- doc-test: checked-by PATH -->  run by that test module, which names the document
    <!-- doc-test: skip REASON -->    not run, for the reason given

Blocks run in a fresh temporary project (never the repository): an empty directory whose
``.venv`` is a virtual environment that installed a wheel built from this checkout
(``pip install <wheel>``, not editable), built once per test run and shared by the xdist
workers. In shell blocks ``curl`` fails on an HTTP error (``--fail-with-body``).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CI_RUN = ROOT / ".ci" / "run"

KINDS = {  # kind -> the fence languages it applies to (None: any)
    "run": {"python", "sh"},
    "pytest": {"python"},
    "file": None,
    "server": {"python", "sh"},
    "validate": {"yaml", "json"},
    "checked-by": None,
    "skip": None,
}
NEEDS_ARGUMENT = {"file", "checked-by", "skip"}
EXECUTED = {"run", "pytest", "server"}

FENCE = re.compile(r"^```\s*([\w+-]*)\s*$")
MARKER = re.compile(r"^<!--\s*doc-test:\s*([\w-]+)\s*(.*?)\s*-->$")
SERVING = re.compile(r"\bon (http://[\d.]+:\d+)\s*$", re.M)
SERVE_LINE = re.compile(r"(^|[\s/&;|])mockprom serve\b")
DOC_PORT = ":9090"

BUILD_TIMEOUT_S = 900
BLOCK_TIMEOUT_S = 300
SERVER_START_S = 600  # an in-checkout block installs the project before it serves


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    kind: Optional[str]  # None: no marker
    arg: str

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"

    @property
    def id(self) -> str:
        return f"{self.where}-{self.lang or 'plain'}-{self.kind}"


def parse_blocks(doc: Path) -> list[Block]:
    """The fenced blocks of a Markdown file with the marker above each (if any)."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(1).lower()
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        prev = start - 1
        while prev >= 0 and not lines[prev].strip():
            prev -= 1
        marker = MARKER.match(lines[prev].strip()) if prev >= 0 else None
        blocks.append(Block(doc, start + 1, lang, "\n".join(lines[start + 1:j]) + "\n",
                            marker.group(1) if marker else None,
                            marker.group(2) if marker else ""))
        i = j + 1
    return blocks


BLOCKS = [b for doc in DOCS for b in parse_blocks(doc)]


def classification_problem(block: Block) -> Optional[str]:
    if block.kind is None:
        return "no <!-- doc-test: ... --> marker above it"
    if block.kind not in KINDS:
        return f"unknown kind {block.kind!r} (one of {', '.join(KINDS)})"
    langs = KINDS[block.kind]
    if langs is not None and block.lang not in langs:
        return f"{block.kind!r} applies to {'/'.join(sorted(langs))} blocks, not {block.lang!r}"
    if block.kind in NEEDS_ARGUMENT and not block.arg:
        return f"{block.kind!r} needs an argument (a name, a path or a reason)"
    if block.kind == "pytest" and "def test_" not in block.text:
        return "a 'pytest' block defines no test"
    if block.kind in ("run", "server") and block.lang == "python" and "def test_" in block.text:
        return "defines tests: mark it 'pytest'"
    return None


def _with(kind_set) -> list:
    return [pytest.param(b, id=b.id) for b in BLOCKS if b.kind in kind_set
            and classification_problem(b) is None]


def test_the_docs_have_blocks_to_run():
    assert len(DOCS) >= 4 and any(b.kind in EXECUTED for b in BLOCKS)


def test_every_block_is_classified():
    problems = [f"{b.where} ```{b.lang}: {p}" for b in BLOCKS
                if (p := classification_problem(b)) is not None]
    assert not problems, "doc blocks to classify (see tests/test_docs_run.py):\n" + \
        "\n".join(problems)


def counts() -> dict:
    """How many blocks run, are validated, run elsewhere and are skipped."""
    out = {"executed": 0, "project files": 0, "validated": 0, "checked elsewhere": 0,
           "skipped": 0, "unclassified": 0}
    names = {"file": "project files", "validate": "validated",
             "checked-by": "checked elsewhere", "skip": "skipped"}
    for b in BLOCKS:
        if classification_problem(b) is not None:
            out["unclassified"] += 1
        else:
            out["executed" if b.kind in EXECUTED else names[b.kind]] += 1
    return out


# -- the environment the blocks run in -----------------------------------------------------

def _clean_env(venv: Path) -> dict:
    """The outer test run's environment without what would leak into a user's project."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "MOCKPROM_", "PYTHON", "VIRTUAL_ENV", "COV_"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(cmd, cwd: Path, env: dict, timeout: float = BUILD_TIMEOUT_S, **kw):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kw)
    assert proc.returncode == 0, (f"{cmd} exited {proc.returncode}\n--- stdout\n"
                                  f"{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-6000:]}")
    return proc


def copy_checkout(dest: Path) -> Path:
    """The files of a fresh clone: the checkout without its venv, caches and builds."""
    shutil.copytree(ROOT, dest, symlinks=True, ignore=shutil.ignore_patterns(
        ".venv", ".git", "node_modules", "__pycache__", "build", "dist", "*.egg-info",
        ".pytest_cache"))
    return dest


def _build(where: Path) -> Path:
    """A wheel of this checkout, installed (not editable) into a new venv."""
    env = _clean_env(Path(sys.prefix))
    src = copy_checkout(where / "src")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
          str(where / "dist"), str(src)], where, env)
    wheel = next((where / "dist").glob("mockprom-*.whl"))
    venv = where / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], where, env)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel),
          "pytest", "requests"], where, _clean_env(venv))
    return venv


@pytest.fixture(scope="session")
def doc_venv(tmp_path_factory) -> Path:
    """One venv per test run, built by whichever xdist worker comes first."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    where = shared / "docs-run"
    with open(shared / "docs-run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = where / "venv-ready"
        if not done.exists():
            shutil.rmtree(where, ignore_errors=True)
            where.mkdir()
            _build(where)
            done.write_text("ok\n")
    return where / "venv"


@dataclass
class Project:
    path: Path
    venv: Path

    @property
    def env(self) -> dict:
        return _clean_env(self.venv)


def make_project(tmp_path: Path, venv: Path, block: Block, in_checkout: bool) -> Project:
    """A fresh project for one block, holding the ``file`` blocks above it."""
    if in_checkout:
        path = copy_checkout(tmp_path / "clone")
    else:
        path = tmp_path / "project"
        path.mkdir()
        (path / ".venv").symlink_to(venv)
    for earlier in BLOCKS:
        if earlier.doc == block.doc and earlier.line < block.line and earlier.kind == "file":
            target = path / earlier.arg
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(earlier.text)
    return Project(path, (path / ".venv") if in_checkout else venv)


# -- running the blocks --------------------------------------------------------------------

SH_PRELUDE = ("set -euo pipefail\n"
              'curl() { command curl --fail-with-body --silent --show-error "$@"; }\n')


def run_block(block: Block, project: Project, text: str) -> subprocess.CompletedProcess:
    if block.lang == "sh":
        if re.search(r"(^|[\s|;&(])curl\s", text) and shutil.which("curl") is None:
            pytest.skip("curl is not installed (apt-get install curl; .ci/run installs it)")
        script = project.path / "example.sh"
        script.write_text(SH_PRELUDE + text)
        return _run(["bash", str(script)], project.path, project.env, BLOCK_TIMEOUT_S)
    if block.kind == "pytest":
        name = block.arg or "test_example.py"
        target = project.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        proc = _run([str(project.venv / "bin" / "python"), "-m", "pytest", "-q",
                     "-p", "no:cacheprovider", name], project.path, project.env,
                    BLOCK_TIMEOUT_S)
        tests = len(re.findall(r"^\s*def test_", text, re.M))
        assert re.search(rf"\b{tests} passed\b", proc.stdout), proc.stdout  # none lost
        return proc
    script = project.path / "example.py"
    script.write_text(text)
    return _run([str(project.venv / "bin" / "python"), str(script)], project.path,
                project.env, BLOCK_TIMEOUT_S)


class Server:
    """A ``mockprom serve`` command run in the background on a free port."""

    def __init__(self, command: str, project: Project):
        self.log = project.path / ".mockprom-serve.log"
        self.command = command
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(["bash", "-c", f"{command} --port 0"],
                                         cwd=project.path, env=project.env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        self.url = self._wait()

    def _wait(self) -> str:
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            found = SERVING.search(self.log.read_text(errors="replace"))
            if found:
                return found.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"{self.command!r} did not start serving:\n{self.log.read_text()[-6000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def split_serve_line(block: Block) -> tuple[Optional[str], str]:
    """The block's ``mockprom serve ...`` line (if any) and the rest of the block."""
    lines = block.text.splitlines()
    for i, line in enumerate(lines):
        if block.lang == "sh" and SERVE_LINE.search(line.split(" #")[0]):
            rest = lines[:i] + lines[i + 1:]
            return line.split(" #")[0].strip(), "\n".join(rest) + "\n"
    return None, block.text


@pytest.mark.parametrize("block", _with({"run", "pytest"}))
def test_doc_block_runs(block, doc_venv, tmp_path):
    project = make_project(tmp_path, doc_venv, block, in_checkout=False)
    run_block(block, project, block.text)


@pytest.mark.parametrize("block", _with({"server"}))
def test_doc_block_runs_beside_a_server(block, doc_venv, tmp_path):
    args = block.arg.split()
    in_checkout = bool(args) and args[0] == "in-checkout"
    args = args[1:] if in_checkout else args
    project = make_project(tmp_path, doc_venv, block, in_checkout)
    serve, rest = split_serve_line(block)
    if serve is not None:
        assert not args, f"{block.where}: the block serves itself; drop the marker's ARGS"
    server = Server(serve or " ".join(["mockprom", "serve", *args]), project)
    try:
        port = server.url.rsplit(":", 1)[1]
        if rest.strip():
            run_block(block, project, rest.replace(DOC_PORT, ":" + port))
        assert server.proc.poll() is None, server.log.read_text()
    finally:
        server.stop()
        if in_checkout:  # a clone with its own venv: hundreds of MB
            shutil.rmtree(project.path, ignore_errors=True)


@pytest.mark.parametrize("block", _with({"validate"}))
def test_doc_scenario_validates(block, doc_venv, tmp_path):
    project = make_project(tmp_path, doc_venv, block, in_checkout=False)
    path = project.path / f"scenario.{'json' if block.lang == 'json' else 'yaml'}"
    path.write_text(block.text)
    proc = _run([str(doc_venv / "bin" / "mockprom"), "validate", path.name], project.path,
                project.env, BLOCK_TIMEOUT_S)
    assert proc.stdout.startswith("ok:"), proc.stdout


@pytest.mark.parametrize("block", _with({"checked-by"}))
def test_doc_block_is_checked_elsewhere(block):
    test = ROOT / block.arg
    assert test.is_file(), f"{block.where}: {block.arg} does not exist"
    assert block.doc.name in test.read_text(), f"{block.arg} does not read {block.doc.name}"


# -- the README's quick start ---------------------------------------------------------------

def quick_start() -> list[Block]:
    """The blocks of the README's "Quick start" section."""
    text = (ROOT / "README.md").read_text()
    section = re.search(r"^## Quick start\n(.*?)^## ", text, re.S | re.M)
    assert section, "README.md has a '## Quick start' section"
    first = text[:section.start(1)].count("\n") + 1
    last = first + section.group(1).count("\n")
    return [b for b in BLOCKS if b.doc.name == "README.md" and first <= b.line <= last]


def test_quick_start_is_two_commands_and_the_tests_are_what_ci_runs():
    commands = [line for b in quick_start() if b.lang == "sh"
                for line in b.text.splitlines() if line.strip() and not line.startswith("#")
                and not line.lstrip().startswith("curl")]
    assert len(commands) == 2, commands
    install, tests = commands
    assert "pip install" in install and "mockprom serve" in install, install
    ci = CI_RUN.read_text()
    assert re.search(rf"^{re.escape(tests.strip())}\b", ci, re.M), \
        f"{tests!r} is not the test command of .ci/run"
    # the install command runs in a fresh clone (a server block in-checkout)
    assert [b.kind for b in quick_start() if install in b.text] == ["server"]


def test_quick_start_query_answers_with_series():
    """The curl of the quick start gets series from the embedded default scenario (a
    query that answers an empty vector would show a new user nothing)."""
    import requests

    from mockprom.server import MockPrometheus

    curl = next(b for b in quick_start() if "curl" in b.text and "query=" in b.text)
    query = re.search(r"--data-urlencode 'query=([^']*)'", curl.text).group(1)
    with MockPrometheus() as prom:
        answer = requests.get(prom.url + "/api/v1/query", params={"query": query},
                              timeout=30).json()
    assert answer["status"] == "success" and answer["data"]["result"], answer


if __name__ == "__main__":  # python tests/test_docs_run.py: the classification, counted
    for b in BLOCKS:
        print(f"{b.where:32} {b.lang or '-':7} {b.kind} {b.arg}")
    print(counts())
