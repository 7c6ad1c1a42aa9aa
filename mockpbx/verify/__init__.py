"""`mockpbx verify`: check any host, the mock or the vendor's staging, against the contract
and its business rules, within a hard request budget."""
