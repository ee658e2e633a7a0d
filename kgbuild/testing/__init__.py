"""Helpers for tests, CI and benchmarks that start real services (never mocks)."""
