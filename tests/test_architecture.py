"""The layout holds: layers import only downward (import-linter's contract in pyproject.toml), and
a private module (``_x.py``) is imported only from inside its own package."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "retrievers", "prompts", "agent", "evals", "scenebridge")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def private_imports_across_packages(root: Path) -> list[str]:
    """``file:line imports pkg._x`` for every import of a private module from outside ``pkg``."""
    offences = []
    sources = [p for package in PACKAGES for p in (root / package).rglob("*.py")] + [root / "serve.py"]
    for path in sources:
        importer = ".".join(path.relative_to(root).with_suffix("").parts)
        for line, module in imported_modules(path):
            parts = module.split(".")
            for depth, part in enumerate(parts):
                if part.startswith("_") and not part.startswith("__"):
                    owner = ".".join(parts[:depth])  # the package the private module belongs to
                    offence = f"{path.relative_to(root)}:{line} imports {'.'.join(parts[:depth + 1])}"
                    if (owner.split(".")[0] in PACKAGES and not (importer + ".").startswith(owner + ".")
                            and offence not in offences):
                        offences.append(offence)
                    break
    return offences


def test_no_private_module_is_imported_from_another_package():
    assert private_imports_across_packages(ROOT) == []


def test_the_check_catches_a_private_import(tmp_path):
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "_hidden.py").write_text("X = 1\n")
    (tmp_path / "agent").mkdir()
    (tmp_path / "agent" / "user.py").write_text("from core._hidden import X\n")
    (tmp_path / "core" / "inside.py").write_text("from core._hidden import X\n")  # its own package: fine
    (tmp_path / "serve.py").write_text("")
    assert private_imports_across_packages(tmp_path) == ["agent/user.py:1 imports core._hidden"]


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    return subprocess.run([command, "--no-cache"], cwd=root, capture_output=True, text=True, timeout=300)


def test_layers_import_only_downward():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_build(tmp_path):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "core" / "upward.py").write_text("import evals.runner  # noqa: F401\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0 and "core.upward -> evals.runner" in result.stdout, result.stdout


def test_nothing_imports_the_entry_point():
    """serve.py sits on top (import-linter takes only packages as roots, so it is checked here)."""
    importers = [f"{path.relative_to(ROOT)}:{line}" for package in PACKAGES for path in (ROOT / package).rglob("*.py")
                 for line, module in imported_modules(path) if module == "serve" or module.startswith("serve.")]
    assert importers == []
