"""The ``mockprom`` command: serve, validate, query.

Examples:
    mockprom serve                                 # the embedded demo on 127.0.0.1:9090
    mockprom serve --scenario slo-burn --port 9091 --verbose
    mockprom scenarios                             # the packaged scenarios, by name
    mockprom validate my-scenario.yaml
    mockprom query 'sum by (job) (rate(http_requests_total[5m]))' --time 2024-01-01T12:00:00Z
    mockprom query 'up' --start -1h --end now --step 5m --scenario checkout
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Optional, Sequence

from mockprom import __version__

from mockprom.versions import DEFAULT_VERSION, VersionError, supported

SERVE_EPILOG = """\
environment (used when the option is not given):
  MOCKPROM_SCENARIO  scenario file, directory, or packaged scenario name
  MOCKPROM_HOST      address to listen on (default 127.0.0.1)
  MOCKPROM_PORT      port (default 9090)
  MOCKPROM_VERBOSE   1/true: log one line per request
  MOCKPROM_CONTROL_TOKEN  the control API's token (as --control-token)
  MOCKPROM_ALLOWED_HOSTS  Host names the control API answers (as --allowed-hosts)
  MOCKPROM_PROMETHEUS_VERSION  the Prometheus version to emulate
  MOCKPROM_THREADS, MOCKPROM_MAX_CONNECTIONS, MOCKPROM_IDLE_TIMEOUT  the server's limits

examples:
  mockprom serve
  mockprom serve --scenario checkout            # a packaged scenario, by name
  mockprom serve --scenario my-scenario.yaml --host 0.0.0.0 --control-token s3cret
  mockprom serve --scenario my-scenarios/ --name checkout
"""

VALIDATE_EPILOG = """\
exit status: 0 when every file is valid, 2 when any has a problem (all are listed).

examples:
  mockprom validate my-scenario.yaml
  mockprom validate my-scenarios/*.yaml
  mockprom validate slo-burn                    # a packaged scenario, by name
"""

SCENARIOS_EPILOG = """\
examples:
  mockprom scenarios
  mockprom scenarios slo-burn > my-slo.yaml      # copy one to start your own
  mockprom serve --scenario memory-leak
"""

QUERY_EPILOG = """\
times: RFC3339 (2024-01-01T12:00:00Z), unix seconds, "now", or relative to now ("-1h").
steps: a duration (15s, 5m) or seconds.

examples:
  mockprom query up
  mockprom query 'rate(http_requests_total[5m])' --time 2024-01-01T12:00:00Z
  mockprom query 'sum(up)' --start -1h --end now --step 5m --scenario checkout
"""


def _truthy(v: Optional[str]) -> bool:
    return (v or "").strip().lower() in ("1", "true", "yes", "on")


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n} is not positive")
    return n


def _size(text: str) -> int:
    from mockprom.limits import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise SystemExit(f"mockprom: {name}={text!r} is not a whole number") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mockprom",
        description="A mock of the Prometheus HTTP API for testing the software that talks "
                    "to Prometheus.",
        epilog=__doc__.split("Examples:", 1)[1].join(["examples:", ""]) if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version",
                   version=f"mockprom {__version__} (emulates Prometheus {supported()}; "
                           f"default {DEFAULT_VERSION})")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("serve", help="serve the Prometheus HTTP API from a scenario",
                       description="Serve the Prometheus HTTP API from a scenario (default: "
                                   "the embedded demo, in real time).",
                       epilog=SERVE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--scenario", metavar="FILE|DIR|NAME",
                   default=os.environ.get("MOCKPROM_SCENARIO"),
                   help="scenario file (YAML/JSON), a directory of them, or the name of a "
                        "packaged scenario (see: mockprom scenarios)")
    s.add_argument("--name", help="with a directory: the scenario to serve, by name")
    s.add_argument("--host", default=os.environ.get("MOCKPROM_HOST", "127.0.0.1"),
                   help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=int(os.environ.get("MOCKPROM_PORT", "9090")),
                   help="port to listen on (default 9090; 0 picks a free one)")
    s.add_argument("--threads", type=_positive, metavar="N",
                   default=_env_int("MOCKPROM_THREADS", 16),
                   help="worker threads answering requests (default 16); a request held by "
                        "a latency or hang fault holds one")
    s.add_argument("--max-connections", type=_positive, metavar="N",
                   default=_env_int("MOCKPROM_MAX_CONNECTIONS", 512),
                   help="open connections at most; more wait to be accepted (default 512, "
                        "as Prometheus's --web.max-connections)")
    s.add_argument("--idle-timeout", type=_positive, metavar="SECONDS",
                   default=_env_int("MOCKPROM_IDLE_TIMEOUT", 300),
                   help="close a kept-alive connection idle this long (default 300, as "
                        "Prometheus's --web.read-timeout)")
    s.add_argument("--max-scenario-size", type=_size, metavar="BYTES",
                   default=os.environ.get("MOCKPROM_MAX_SCENARIO_SIZE") or "32MiB",
                   help="the largest scenario PUT /-/mockprom/scenario takes: bytes or e.g. "
                        "64MiB (default 32MiB; larger ones get a 413)")
    s.add_argument("--verbose", "-v", action="store_true",
                   default=_truthy(os.environ.get("MOCKPROM_VERBOSE")),
                   help="log one line per request (never credentials)")
    s.add_argument("--control-token", metavar="TOKEN",
                   default=os.environ.get("MOCKPROM_CONTROL_TOKEN") or None,
                   help="require 'Authorization: Bearer TOKEN' on the control API "
                        "(/-/mockprom/); a scenario's auth credentials work there too")
    s.add_argument("--allowed-hosts", metavar="NAMES",
                   default=os.environ.get("MOCKPROM_ALLOWED_HOSTS", ""),
                   help="comma-separated Host names the control API answers besides "
                        "localhost and the listen address ('*': any); with --host 0.0.0.0 "
                        "and none given, any")
    _version_option(s)

    v = sub.add_parser("validate", help="check scenario files, listing every problem",
                       description="Check scenario files and list every problem with file, "
                                   "line and field path.",
                       epilog=VALIDATE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    v.add_argument("files", nargs="+", metavar="FILE")

    lib = sub.add_parser("scenarios", help="list the packaged scenarios, or print one",
                         description="The scenarios that ship with mockprom. Use a name "
                                     "wherever a scenario is taken: --scenario NAME, "
                                     "MockPrometheus(scenario=NAME), "
                                     "PUT /-/mockprom/scenario?name=NAME.",
                         epilog=SCENARIOS_EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    lib.add_argument("name", nargs="?", metavar="NAME",
                     help="print this scenario's YAML (a starting point for your own)")

    q = sub.add_parser("query", help="evaluate PromQL offline and print a table",
                       description="Evaluate a PromQL expression against a scenario without "
                                   "a server and print the result as a table.",
                       epilog=QUERY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    q.add_argument("expr", metavar="EXPR", help="the PromQL expression")
    q.add_argument("--scenario", metavar="FILE|NAME", default=os.environ.get("MOCKPROM_SCENARIO"),
                   help="scenario file or packaged scenario name (default: the embedded demo)")
    q.add_argument("--time", help="evaluation time of an instant query (default: now)")
    q.add_argument("--start", help="range query: start time")
    q.add_argument("--end", help="range query: end time (default: now)")
    q.add_argument("--step", help="range query: resolution step (default: 1m)")
    _version_option(q)
    return p


def _version_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prometheus-version", metavar="VERSION",
                        default=os.environ.get("MOCKPROM_PROMETHEUS_VERSION"),
                        help=f"the Prometheus version to emulate ({supported()}), overriding "
                             f"the scenario's server.version (default: the scenario's, else "
                             f"{DEFAULT_VERSION})")


_VALUE_OPTIONS = ("--start", "--end", "--time", "--step")


def _join_values(argv: Sequence[str]) -> list[str]:
    """Let relative times like ``--start -1h`` through (argparse takes "-1h" for an
    option): turn them into ``--start=-1h``."""
    out, i = [], 0
    argv = list(argv)
    while i < len(argv):
        a = argv[i]
        if a in _VALUE_OPTIONS and i + 1 < len(argv):
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_join_values(sys.argv[1:] if argv is None else argv))
    if args.command == "serve":
        return cmd_serve(args)
    if args.command == "validate":
        return cmd_validate(args)
    if args.command == "scenarios":
        return cmd_scenarios(args)
    if args.command == "query":
        return cmd_query(args)
    parser.print_help()
    return 2


# -- serve ---------------------------------------------------------------------------

def _pick_scenario(path: Optional[str], name: Optional[str]):
    """The scenario source to serve (a file, or one scenario of a directory) and the
    directory's scenarios by name (empty for a file)."""
    if not path:
        return None, {}
    if os.path.isdir(path):
        from mockprom.api.validation import load_checked_dir

        found = load_checked_dir(path)
        if not found:
            raise SystemExit(f"mockprom: no scenario files in {path}")
        if name:
            if name not in found:
                raise SystemExit(f"mockprom: no scenario named {name!r} in {path} "
                                 f"(have: {', '.join(sorted(found))})")
            return found[name], found
        pick = "default" if "default" in found else sorted(found)[0]
        if len(found) > 1:
            print(f"mockprom: {len(found)} scenarios in {path} ({', '.join(sorted(found))}); "
                  f"serving {pick!r} (choose with --name, or switch with "
                  f"PUT /-/mockprom/scenario?name=...)", file=sys.stderr)
        return found[pick], found
    return path, {}


def cmd_serve(args) -> int:
    from mockprom import limits
    from mockprom.app import create_app
    from mockprom.scenario.loader import ScenarioError
    from mockprom.server import release_held_requests
    from mockprom.serving import HttpServer, ServerOptions

    try:
        scenario, library = _pick_scenario(args.scenario, args.name)
        app = create_app(scenario, verbose=args.verbose, library=library,
                         version=args.prometheus_version, control_token=args.control_token,
                         bind_host=args.host,
                         allowed_hosts=[h for h in args.allowed_hosts.split(",") if h.strip()],
                         max_scenario_bytes=args.max_scenario_size)
    except ScenarioError as exc:
        _print_problems(exc)
        return 2
    except VersionError as exc:
        print(f"mockprom: {exc}", file=sys.stderr)
        return 2
    limits.tame_allocator()  # before the worker threads exist
    try:
        server = HttpServer(app, args.host, args.port,
                            ServerOptions(threads=args.threads, max_connections=args.max_connections,
                                          idle_timeout_s=args.idle_timeout,
                                          # a scenario just over its limit still
                                          # reaches the API's 413 that names the option
                                          max_body_bytes=max(limits.MAX_REQUEST_BYTES,
                                                             2 * args.max_scenario_size)))
    except OSError as exc:
        print(f"mockprom: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
    state = app.extensions["mockprom.state"]
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"mockprom {__version__}: serving scenario {state.scenario.name!r} "
          f"({len(state.store)} series) as Prometheus {state.settings.version} "
          f"on http://{host}:{server.port}",
          file=sys.stderr, flush=True)

    _warn_if_open(args.host, state)

    def _stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        release_held_requests(app)
        server.stop()
    return 0


def _warn_if_open(host: str, state) -> None:
    """Listening beyond loopback with an open control API: say so, once, loudly."""
    if host in ("127.0.0.1", "localhost", "::1") or host.startswith("127."):
        return
    auth = getattr(state.scenario, "auth", None)
    if state.control_token or getattr(auth, "type", "none") != "none":
        return
    print(f"mockprom: WARNING: listening on {host} with no control token: anyone who can "
          "reach this port can replace the scenario, read the request journal and add "
          "faults under /-/mockprom/. Set --control-token (or MOCKPROM_CONTROL_TOKEN), or "
          "listen on 127.0.0.1.", file=sys.stderr, flush=True)


# -- validate ------------------------------------------------------------------------

def _print_problems(exc) -> None:
    for p in getattr(exc, "problems", None) or [exc]:
        print(str(p), file=sys.stderr)


def cmd_validate(args) -> int:
    """Every problem of every file (model, rules' PromQL, fault rules), one a line, each
    with file, line and field path; exit status 2 when there is any."""
    from mockprom.api.validation import load_checked
    from mockprom.scenario.loader import ScenarioError

    bad, good = 0, []
    for f in args.files:
        try:
            sc = load_checked(f if os.path.exists(f) else _missing(f))
        except ScenarioError as exc:
            bad += len(exc.problems) or 1
            _print_problems(exc)
            continue
        good.append(f"{f} ({sc.name}: {len(sc.series)} series entries)")
    if bad:
        print(f"{bad} problem{'s' if bad != 1 else ''} found", file=sys.stderr)
        return 2
    print(f"ok: {len(good)} scenario file{'s' if len(good) != 1 else ''} valid: "
          + ", ".join(good))
    return 0


def _missing(path: str):
    return path  # the loader names the packaged scenario it stands for, or says what is


# -- scenarios -----------------------------------------------------------------------

def cmd_scenarios(args) -> int:
    """List the packaged scenarios (name and description), or print one's file."""
    from mockprom.scenario import library

    found = library.entries()
    if args.name:
        entry = found.get(args.name)
        if entry is None:
            import difflib

            close = difflib.get_close_matches(args.name, list(found), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            print(f"mockprom: no packaged scenario named {args.name!r}{hint}; "
                  f"run `mockprom scenarios` for the list", file=sys.stderr)
            return 2
        sys.stdout.write(entry.path.read_text(encoding="utf-8"))
        return 0
    width = max(len(n) for n in found) if found else 0
    for name, entry in found.items():
        print(f"{name:<{width}}  {entry.description or '-'}")
    return 0


# -- query ---------------------------------------------------------------------------

def _cli_time(text: Optional[str], now_ms: int) -> int:
    from mockprom.api.params import parse_time
    from mockprom.scenario.durations import parse_time_spec

    if text is None or text.strip().lower() == "now":
        return now_ms
    try:
        return parse_time(text.strip()).ms()
    except ValueError:
        pass
    try:
        return parse_time_spec(text).resolve(now_ms)
    except ValueError:
        raise SystemExit(f"mockprom: cannot parse {text!r} as a time "
                         "(RFC3339, unix seconds, now, or relative like -1h)") from None


def cmd_query(args) -> int:
    from mockprom.api.params import parse_duration_ns
    from mockprom.api.state import ServerState
    from mockprom.promql.errors import PromQLError
    from mockprom.scenario.loader import ScenarioError

    try:
        state = ServerState(args.scenario, version=args.prometheus_version)
    except ScenarioError as exc:
        _print_problems(exc)
        return 2
    except VersionError as exc:
        print(f"mockprom: {exc}", file=sys.stderr)
        return 2
    now = state.clock.now_ms()
    try:
        if args.start or args.step or args.end:
            start = _cli_time(args.start or "-1h", now)
            end = _cli_time(args.end, now)
            try:
                step_ms = parse_duration_ns(args.step or "1m") // 1_000_000
            except ValueError as exc:
                raise SystemExit(f"mockprom: {exc}") from None
            if step_ms <= 0:
                raise SystemExit("mockprom: the step must be at least 1ms")
            if (end - start) // step_ms > state.settings.max_points:
                raise SystemExit("mockprom: too many points per series; use a larger --step")
            result = state.engine.range_query(args.expr, start, end, step_ms)
        else:
            result = state.engine.instant_query(args.expr, _cli_time(args.time, now))
    except PromQLError as exc:
        print(f"error ({exc.error_type}): {exc.message}", file=sys.stderr)
        return 1
    except Exception as exc:  # an engine bug: say so in one line, not a traceback
        print(f"error (internal): {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(format_table(result.value))
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0


def format_table(value) -> str:
    """A query result as an aligned text table."""
    from mockprom.api.format import rfc3339_nano, sample_value, scalar_value
    from mockprom.promql.values import Matrix, Scalar, String, Vector
    from mockprom.scenario.labels import format_labels

    def table(rows: list[tuple[str, ...]]) -> str:
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)

    if isinstance(value, Scalar):
        return table([("SCALAR", "TIME"), (scalar_value(value.value), rfc3339_nano(value.t_ms))])
    if isinstance(value, String):
        return table([("STRING", "TIME"), (value.value, rfc3339_nano(value.t_ms))])
    if isinstance(value, Vector):
        if not value.samples:
            return "(empty vector)"
        rows = [("SERIES", "VALUE", "TIME")]
        rows += [(format_labels(s.labels), sample_value(s.value), rfc3339_nano(s.t_ms))
                 for s in value.samples]
        return table(rows)
    if isinstance(value, Matrix):
        if not value.series:
            return "(empty matrix)"
        rows = [("SERIES", "TIME", "VALUE")]
        for s in value.series:
            name = format_labels(s.labels)
            for i, (t, v) in enumerate(s.points):
                rows.append((name if i == 0 else "", rfc3339_nano(t), sample_value(v)))
        return table(rows)
    return str(value)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
