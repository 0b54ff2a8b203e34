"""Scenarios: the YAML model, series notation, generators, loader and the sample store."""
