"""`mockpbx record`: record a host's call log into a fixture file, anonymised."""
