"""Ingestion: remote write and Pushgateway."""
