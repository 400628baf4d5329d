"""Pure domain logic. Never imports Django (enforced by tests/test_domain_purity.py)."""
