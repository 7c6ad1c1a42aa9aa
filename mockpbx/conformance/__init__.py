"""Conformance: the business rules of the contract as checks, shared by the tests and `mockpbx verify`."""
