"""Test-double controls: the clock, added data, injected faults and the request journal."""
