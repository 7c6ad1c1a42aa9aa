"""`mockpbx drift`: how a real host differs from the mock, and the options that close the gap."""
