"""The simulator stays layered: the import-linter contracts of pyproject.toml hold.

basic types (channel, clock, confparse, expr, callerid, scripts; config) < kernel <
engines < features < AMI server < composition root (sim.py) < demo < CLI; features do
not import each other (Atxfer alone builds on Local channels); no import cycle inside any
package. A module that needs something from a higher layer gets it through a hook or a
constructor argument instead (pbxsim/README.md, "Layers").
"""

from __future__ import annotations

import ast
from pathlib import Path

from importlinter.cli import lint_imports

REPO = Path(__file__).resolve().parents[3]
PBXSIM = REPO / "pbxsim"
CONTRACTS = ("pbxsim-layers", "pbxsim-features-apart", "pbxsim-no-cycles")


def test_the_import_contracts_hold() -> None:
    code = lint_imports(config_filename=str(REPO / "pyproject.toml"), limit_to_contracts=CONTRACTS,
                        no_cache=True, no_logo=True)
    assert code == 0, "an import breaks pbxsim's layers: see the lint-imports report above"


def _late_imports(path: Path) -> list[str]:
    """Imports inside functions or classes whose line (or the line above) gives no reason."""
    lines = path.read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(lines))
    top = {id(node) for node in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top:
            here, above = lines[node.lineno - 1], lines[node.lineno - 2] if node.lineno > 1 else ""
            if "#" not in here and not above.strip().startswith("#"):
                out.append(f"{path.relative_to(REPO)}:{node.lineno}: {here.strip()}")
    return out


def test_imports_are_at_the_top_of_each_module_unless_a_comment_says_why() -> None:
    late = [hit for path in sorted(PBXSIM.rglob("*.py")) for hit in _late_imports(path)]
    assert late == []


def test_no_type_ignore_in_the_simulator() -> None:
    hits = [f"{p.relative_to(REPO)}:{n}" for p in sorted(PBXSIM.rglob("*.py"))
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if "type: ignore" in line]
    assert hits == []
