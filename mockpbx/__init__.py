"""mockpbx: a high-fidelity mock of the TEL4VN PBX billing API and a contract-testing kit."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
