"""Reporting: executed-notebook normalization, figure style and saving, paper-vs-ours tables,
provenance."""
