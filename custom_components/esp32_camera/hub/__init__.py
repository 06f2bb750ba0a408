"""The hub: one config entry's runtime, between the listener and the entities.

`hub.py` wires the listener's events to the parts beside it: the store of what the user chose
(`store.py`, `store_migration.py`, `store_check.py`), each camera's settings (`camera_settings.py`),
the frame broker (`frame_broker.py`), the approval of new cameras (`admission.py`), the entity
signals and their throttled updates (`signals.py`, `entity_updates.py`, `throttle.py`), the
hub options (`options.py`), the device registry (`devices.py`), motion detection
(`motion_detection.py`), clips (`clip_recording.py`) and continuous saving (`image_saver.py`).
"""
