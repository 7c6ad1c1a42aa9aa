"""API coverage: which documented outcomes of the API the client under test ever met."""
