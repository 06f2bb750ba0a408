"""Tests of the benchmark tools (their correctness, never their timings)."""
