"""Domain rules of the PBX billing API; nothing here knows about HTTP or Flask."""
