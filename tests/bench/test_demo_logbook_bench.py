"""The demo logbook workload's counting: entries per entity, the busiest minute, the verdict."""

from __future__ import annotations

from pathlib import Path

from bench.demo_logbook import floods, media_bytes, per_minute, table


def test_entries_are_counted_per_entity_and_busiest_minute() -> None:
    """Two entries of one sensor in the same minute are a flood; one a minute is not."""
    entries = [
        {"entity_id": "sensor.garage_fps", "state": "20", "when": 600.0},
        {"entity_id": "sensor.garage_fps", "state": "20", "when": 659.9},
        {"entity_id": "binary_sensor.garage_motion", "state": "on", "when": 600.0},
        {"entity_id": "binary_sensor.garage_motion", "state": "off", "when": 610.0},
        {"entity_id": "binary_sensor.garage_motion", "state": "on", "when": 660.0},
        {"name": "Home Assistant", "message": "started", "when": 601.0},
    ]

    figures = per_minute(entries)

    assert figures["sensor.garage_fps: 20"] == {"entries": 2, "most_in_a_minute": 2}
    assert figures["binary_sensor.garage_motion: on"] == {"entries": 2, "most_in_a_minute": 1}
    assert figures["binary_sensor.garage_motion: off"] == {"entries": 1, "most_in_a_minute": 1}
    assert figures["Home Assistant: started"] == {"entries": 1, "most_in_a_minute": 1}
    assert floods(figures) == ["sensor.garage_fps: 20"]


def test_media_written_is_the_sum_of_the_files_under_media(tmp_path: Path) -> None:
    """Clips and thumbnails in nested folders all count; other folders do not."""
    clips = tmp_path / "media" / "esp32_camera" / "clips"
    clips.mkdir(parents=True)
    (clips / "a.avi").write_bytes(b"x" * 1000)
    (clips / "a.jpg").write_bytes(b"x" * 24)
    (tmp_path / "home-assistant_v2.db").write_bytes(b"x" * 5000)

    assert media_bytes(tmp_path) == 1024


def test_the_table_names_the_floods_and_the_busiest_entities_first() -> None:
    """The table lists entries by count and ends with the verdict."""
    results = {
        "demo_logbook": {
            "seconds": 120,
            "entries": 5,
            "entities": {
                "sensor.a": {"entries": 1, "most_in_a_minute": 1},
                "sensor.b": {"entries": 4, "most_in_a_minute": 3},
            },
            "floods": ["sensor.b"],
            "media_bytes": 2_500_000,
        }
    }

    lines = table(results)

    assert "5 entries, media written 2.5 MB" in lines[1]
    assert lines[3].startswith("sensor.b")
    assert lines[4].startswith("sensor.a")
    assert lines[-1] == "repeating more than 1 a minute: sensor.b"
    assert table({}) == []
