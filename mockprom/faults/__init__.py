"""Scripted failure: fault rules, triggers, transport effects and the request journal."""
