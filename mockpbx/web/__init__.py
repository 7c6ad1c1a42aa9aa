"""The HTTP layer: thin Flask handlers over the domain."""
