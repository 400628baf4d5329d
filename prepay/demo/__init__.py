"""The demo: a property group with sites, customers, meters, tariffs, keys and a simulated fleet,
built with the same actions staff use (``prepay demo``). The top layer: it may use every app, and
no app uses it (docs/architecture.md)."""
