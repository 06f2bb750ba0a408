"""The save directory: its one layout, and writing, scanning, pruning and listing it.

No Home Assistant import; everything here does blocking I/O, so callers run it in the executor.
"""
