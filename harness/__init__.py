"""Test harness shared by the end-to-end test and the benchmarks: a real `hass` process."""
