"""The layers hold: a module never imports an app of a higher layer (docs/architecture.md).

Every ``import prepay.X`` / ``from prepay.X import …`` in ``prepay/`` — at the top of a module or
inside a function, as both reach upward the same — is checked against :data:`LAYERS`. The upward
imports that exist today are listed in :data:`KNOWN` with why; the list may only shrink: a new upward
import fails, and so does a listed one that is gone (take it off the list).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "prepay"

#: app → layer; an app may import its own layer and those below (domain is pure Python, no Django)
LAYERS: dict[str, int] = {
    "domain": 0,
    **dict.fromkeys(("audit", "common", "tenancy"), 1),
    **dict.fromkeys(("customers", "meters", "tariffs", "tokens", "notify"), 2),
    **dict.fromkeys(("vending", "billing", "simulator", "telemetry"), 3),
    **dict.fromkeys(
        (
            "counter",
            "api",
            "reports",
            "imports",
            "web",
            "dbcare",
            "analytics",
            "messaging",
            "payments",
            "portal",
            "reconciliation",
            "cardbridge",
        ),
        4,
    ),
    "demo": 5,
}

#: the layer of the screens (an app's admin.py and management commands count as screens)
SCREENS = 4

#: (importing app, imported app) → why it is still there; issue 19 removes them
KNOWN: dict[tuple[str, str], str] = {
    ("audit", "tokens"): "the audit chain's key lives in the vending key store",
}


def upward_imports() -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if "migrations" in rel.parts or len(rel.parts) < 2:
            continue  # migrations are history; prepay/cli.py, settings.py, urls.py sit on top
        app = rel.parts[0]
        assert app in LAYERS, f"prepay/{app}/ has no layer: add it to LAYERS and docs/architecture.md"
        # an app's admin.py is a back-office screen, its management commands are the command line:
        # both sit with the screens (layer 4)
        screen = rel.name == "admin.py" or "management" in rel.parts
        layer = max(LAYERS[app], SCREENS) if screen else LAYERS[app]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                target = parts[1] if parts[0] == "prepay" and len(parts) > 1 else ""
                if target in LAYERS and LAYERS[target] > layer:
                    found[(app, target)].append(f"prepay/{rel}:{node.lineno}")
    return found


class LayersTestCase:
    def test_no_new_upward_import(self) -> None:
        new = {pair: where for pair, where in upward_imports().items() if pair not in KNOWN}
        assert not new, f"imports from a higher layer (docs/architecture.md): {new}"

    def test_the_known_list_only_shrinks(self) -> None:
        gone = sorted(set(KNOWN) - set(upward_imports()))
        assert not gone, f"no longer imported upward, take off KNOWN: {gone}"

    def test_nothing_imports_the_demo(self) -> None:
        users = [w for (app, target), where in upward_imports().items() if target == "demo" for w in where]
        assert not users

    def test_the_scan_sees_imports_inside_functions(self) -> None:
        # audit.keys imports tokens inside functions: the scan must see it
        assert any(w.startswith("prepay/audit/keys.py") for w in upward_imports()[("audit", "tokens")])
