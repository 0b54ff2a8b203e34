"""What can be checked of the Docker deployment without a Docker engine: the compose file
is coherent with the repository, and the exact command the container runs starts a
server that answers its healthcheck."""

from __future__ import annotations

import gzip
import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from mockprom.scenario import library

ROOT = Path(__file__).resolve().parent.parent


def _compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _dockerfile_instructions():
    lines, buf = [], ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        buf += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            lines.append(buf.strip())
            buf = ""
    return [(l.split(None, 1)[0].upper(), l.split(None, 1)[1] if " " in l else "") for l in lines]


def test_compose_builds_the_repository_dockerfile():
    service = _compose()["services"]["mockprom"]
    context = ROOT / service["build"] if isinstance(service["build"], str) else ROOT / service["build"]["context"]
    assert (context / "Dockerfile").is_file()


def test_compose_mounts_existing_scenarios_read_only_and_names_an_existing_one():
    service = _compose()["services"]["mockprom"]
    mounts = {}
    for volume in service["volumes"]:
        host, container, *mode = volume.split(":")
        assert (ROOT / host).exists(), f"mounted path {host} does not exist"
        mounts[container] = (ROOT / host, mode)
    host_dir, mode = mounts["/scenarios"]
    assert mode == ["ro"]
    scenario = service["environment"]["MOCKPROM_SCENARIO"]
    if scenario.startswith("/scenarios/"):
        assert (host_dir / scenario[len("/scenarios/"):]).exists()
    else:
        assert library.find(scenario) is not None, f"{scenario!r} is no packaged scenario"


def test_compose_healthcheck_probes_ready_endpoint():
    check = _compose()["services"]["mockprom"]["healthcheck"]["test"]
    assert any("/-/ready" in part for part in check)


def test_grafana_profile_points_a_datasource_at_mockprom():
    grafana = _compose()["services"]["grafana"]
    assert grafana["profiles"] == ["grafana"]
    host_dir = grafana["volumes"][0].split(":")[0]
    datasources = yaml.safe_load((ROOT / host_dir / "datasources" / "mockprom.yaml").read_text())
    assert datasources["datasources"][0]["url"] == "http://mockprom:9090"


def test_dockerfile_runs_as_non_root_user_with_one_server_process():
    instructions = _dockerfile_instructions()
    users = [arg for op, arg in instructions if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    cmd = [arg for op, arg in instructions if op == "CMD"][-1]
    assert json.loads(cmd)[:2] == ["mockprom", "serve"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _compose_value(value: str, env: dict) -> str:
    """Compose's interpolation of ``${NAME:-default}`` and ``${NAME}`` in a value."""
    import re

    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}",
                  lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)


def test_the_container_command_starts_a_server_that_answers(tmp_path):
    """Run the Dockerfile's CMD with the image's environment (host narrowed to loopback)
    and the compose file's scenario, as the container would."""
    instructions = _dockerfile_instructions()
    env = dict(os.environ)
    for op, arg in instructions:
        if op == "ENV":
            for item in shlex.split(arg):
                key, _, value = item.partition("=")
                env[key] = value
    service_env = _compose()["services"]["mockprom"]["environment"]
    env.update({k: _compose_value(str(v), env) for k, v in service_env.items()})
    scenario = env["MOCKPROM_SCENARIO"]
    if scenario.startswith("/scenarios/"):
        env["MOCKPROM_SCENARIO"] = str(ROOT / "scenarios" / scenario[len("/scenarios/"):])
    env["MOCKPROM_HOST"] = "127.0.0.1"
    port = _free_port()
    env["MOCKPROM_PORT"] = str(port)
    cmd = json.loads([arg for op, arg in instructions if op == "CMD"][-1])
    exe = Path(sys.executable).parent / cmd[0]
    proc = subprocess.Popen([str(exe)] + cmd[1:], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        body = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError("server exited: " + proc.stdout.read().decode(errors="replace"))
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.1)
        assert body is not None and "Ready" in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?query=up", timeout=5) as r:
            answer = json.loads(r.read())
        assert answer["status"] == "success"
        assert answer["data"]["resultType"] == "vector"
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/query?query=up",
                                         headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=5) as r:
            assert r.headers["Content-Encoding"] == "gzip", "the production server answers"
            assert r.headers["Server"] is None
            assert json.loads(gzip.decompress(r.read())) == answer
        health = json.loads([arg for op, arg in instructions if op == "HEALTHCHECK"][-1]
                            .split("CMD", 1)[1])
        if health[0] == "python":  # the image's python; here, this interpreter
            health[0] = sys.executable
        assert subprocess.run(health, env=env, timeout=10).returncode == 0
        proc.terminate()
        assert proc.wait(timeout=10) == 0, "SIGTERM stops the server cleanly"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
