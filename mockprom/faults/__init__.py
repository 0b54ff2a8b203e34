"""Scripted failure: fault rules, triggers, transport effects and the request journal.

The app wraps itself with two lines::

    faults = FaultEngine(seed=scenario.seed, now_ms=clock.now_ms)
    faults.load(scenario.faults, scenario.timeline)   # raises FaultRuleError
    app.wsgi_app = FaultMiddleware(app.wsgi_app, faults, RequestJournal(maxlen=10_000))
"""

from mockprom.faults.engine import FaultEngine, Firing, validate_faults
from mockprom.faults.journal import RequestJournal
from mockprom.faults.middleware import FaultMiddleware
from mockprom.faults.rules import FaultRule, FaultRuleError, parse_rule

__all__ = ["FaultEngine", "FaultMiddleware", "FaultRule", "FaultRuleError", "Firing",
           "RequestJournal", "parse_rule", "validate_faults"]
