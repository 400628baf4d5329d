"""The layers hold: a module never imports an app of a higher layer (docs/architecture.md).

Every ``import prepay.X`` / ``from prepay.X import …`` in ``prepay/`` — at the top of a module or
inside a function, as both reach upward the same — is checked against :data:`LAYERS`. The upward
imports that exist today are listed in :data:`KNOWN` with why; the list may only shrink: a new upward
import fails, and so does a listed one that is gone (take it off the list).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Collection
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
KNOWN: dict[tuple[str, str], str] = {}


def modules() -> dict[str, Path]:
    """Every module of ``prepay/`` by dotted name (a package by its own name), migrations left out."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent)
        if "migrations" in rel.parts:
            continue  # migrations are history
        name = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
        found[name] = path
    return found


def imported(tree: ast.AST, known: Collection[str] = ()) -> list[tuple[int, str]]:
    """(line, dotted name) of every absolute import in ``tree``, at the top or inside a function.
    ``from a.b import c`` is an import of module ``a.b.c`` when that is one of the ``known`` modules
    (a sibling submodule), else of ``a.b``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.append((node.lineno, sub if sub in known else node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return list(dict.fromkeys(found))


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
        for lineno, name in imported(ast.parse(path.read_text(encoding="utf-8"))):
            parts = name.split(".")
            target = parts[1] if parts[0] == "prepay" and len(parts) > 1 else ""
            if target in LAYERS and LAYERS[target] > layer:
                where = f"prepay/{rel}:{lineno}"
                if where not in found[(app, target)]:
                    found[(app, target)].append(where)
    return dict(found)


def mutual_imports() -> list[tuple[str, str]]:
    """Pairs of modules that import each other (anywhere in the module)."""
    mods = modules()
    edges = {
        name: {
            m
            for _, m in imported(ast.parse(path.read_text(encoding="utf-8")), mods)
            if m in mods and m != name
        }
        for name, path in mods.items()
    }
    return sorted({tuple(sorted((a, b))) for a, targets in edges.items() for b in targets if a in edges[b]})


#: the longest a function may be, in lines from ``def`` to its last line (docstring included)
MAX_FUNCTION_LINES = 80


def long_functions() -> list[str]:
    found = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    found.append(f"{name}.{node.name} ({lines} lines, line {node.lineno})")
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

    def test_the_simulator_keeps_to_meters(self) -> None:
        # a virtual meter reads cards in the domain's format with the key store's card key, and the
        # demo passes the billing tick in: the simulator imports neither vending's cards nor billing
        mods = modules()
        found = [
            f"{name}:{line} {target}"
            for name, path in mods.items()
            if name.startswith("prepay.simulator")
            for line, target in imported(ast.parse(path.read_text(encoding="utf-8")), mods)
            if target.startswith(("prepay.billing", "prepay.vending.cards"))
        ]
        assert not found

    def test_the_scan_sees_imports_inside_functions(self) -> None:
        source = "import prepay.a\n\ndef f():\n    from prepay.b import c\n    import prepay.d as e\n"
        assert imported(ast.parse(source)) == [(1, "prepay.a"), (4, "prepay.b"), (5, "prepay.d")]
        # ``from package import submodule`` imports the submodule
        assert imported(ast.parse(source), {"prepay.b.c"}) == [
            (1, "prepay.a"),
            (4, "prepay.b.c"),
            (5, "prepay.d"),
        ]

    def test_the_scan_reads_every_module(self) -> None:
        mods = modules()
        assert "prepay.vending.actions" in mods and "prepay.payments.adapters" in mods
        assert not any(".migrations." in name for name in mods)


class ModulesTestCase:
    def test_no_two_modules_import_each_other(self) -> None:
        pairs = mutual_imports()
        assert not pairs, f"modules importing each other (move the shared part down): {pairs}"

    def test_no_function_is_over_80_lines(self) -> None:
        found = long_functions()
        assert not found, f"functions over {MAX_FUNCTION_LINES} lines (split along their steps): {found}"
