"""Token systems spoken by prepaid meters (STS, OpenPAYGO)."""
