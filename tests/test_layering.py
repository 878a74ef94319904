"""The package layering of DESIGN.md: rule packages import only the shared core; the core never imports a rule."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "spikegrad"
CORE = ("errors", "types", "runtime", "functional", "grad", "kernels", "nn", "losses", "encoding", "data")
RULES = sorted(p.name for p in (PACKAGE / "rules").iterdir() if p.is_dir() and not p.name.startswith("_"))


def _imports(path: Path) -> set[str]:
    """Every ``spikegrad.*`` module a file imports (at any depth of the file)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("spikegrad"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("spikegrad")}
    return found


def _top(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[1:3]) if parts[1:2] == ["rules"] and len(parts) > 2 else parts[1] if len(parts) > 1 else ""


@pytest.mark.parametrize("rule", RULES)
def test_a_rule_imports_only_the_core_and_itself(rule):
    """A rule may use the core, its own package and the plug-in interface (``rules.plugin``), no other rule."""
    for path in (PACKAGE / "rules" / rule).rglob("*.py"):
        bad = {m for m in _imports(path) if _top(m) not in (*CORE, f"rules.{rule}", "rules.plugin")}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


@pytest.mark.parametrize("package", CORE)
def test_the_core_never_imports_a_rule_or_the_layers_above(package):
    files = [PACKAGE / f"{package}.py"] if (PACKAGE / f"{package}.py").is_file() else list((PACKAGE / package).rglob("*.py"))
    for path in files:
        bad = {m for m in _imports(path) if _top(m).split(".")[0] in ("rules", "train", "analysis", "export", "cli")}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_every_rule_has_a_home():
    assert RULES == ["bptt", "lee", "na", "normad", "slayer"]
