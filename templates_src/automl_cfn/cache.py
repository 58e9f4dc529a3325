"""Content-hash caches for the inner loop: `templates` and `lint` skip what nothing changed.

Both live under `.cache/automl-cfn/` in the project directory (git-ignored);
deleting it forces a cold run.  A cache entry is a JSON file holding the key
it was made under; anything that could change the result is in the key, so
a stale entry is never used, only replaced:

- generation: the package's sources and data files, config/*.yaml, the
  documents with generated blocks (README.md, docs/SECURITY.md) and
  checks/skips.yaml, the versions of the libraries that build the
  templates, the Python version, and whether Graphviz is present; and the
  outputs themselves must still be on disk as they were written;
- lint, per template: the template's bytes, .cfnlintrc, the arguments, the
  cfn-lint version (its schemas ship with it) and the Python version.

Nothing here imports troposphere or cfn-lint: a cache hit costs file reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Iterable

DIRECTORY = Path(".cache") / "automl-cfn"
PACKAGE = Path(__file__).parent
# Libraries whose version changes what `templates` writes.
GENERATION_LIBRARIES = ("troposphere", "awacs", "orjson", "PyYAML")


def directory(project: Path) -> Path:
    return project / DIRECTORY


def version(distribution: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"


def python_version() -> str:
    return sys.version.split()[0]


def hash_files(paths: Iterable[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"<absent>")
        digest.update(b"\0")
    return digest.hexdigest()


def generation_key(project: Path) -> str:
    package = PACKAGE
    sources = [p for p in package.rglob("*") if p.is_file() and p.suffix in (".py", ".json")
               and "__pycache__" not in p.parts]
    inputs = [project / "config" / p.name for p in sorted((project / "config").glob("*.yaml"))] + \
        [project / "README.md", project / "docs" / "SECURITY.md", project / "checks" / "skips.yaml"]
    parts = [hash_files(sources, package), hash_files(inputs, project), python_version(),
             "graphviz" if shutil.which("dot") else "no-graphviz"]
    parts += [f"{name}=={version(name)}" for name in GENERATION_LIBRARIES]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def outputs_digest(out_dir: Path) -> str:
    return hash_files([p for p in out_dir.rglob("*") if p.is_file()], out_dir) if out_dir.is_dir() else "none"


def load(project: Path, name: str) -> dict:
    try:
        return json.loads((directory(project) / f"{name}.json").read_text())
    except (OSError, ValueError):
        return {}


def save(project: Path, name: str, entry: dict) -> None:
    """Write atomically: a concurrent run reads the old entry or the new one, never half of one."""
    folder = directory(project)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{name}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps(entry, indent=1, sort_keys=True))
        temporary.replace(folder / f"{name}.json")
    except OSError:
        pass   # a read-only checkout: no cache, same results


# -- generation ----------------------------------------------------------------

def generation_current(project: Path, out_dir: Path) -> bool:
    entry = load(project, "generate")
    return bool(entry) and entry.get("key") == generation_key(project) and \
        entry.get("outputs") == outputs_digest(out_dir)


def generation_done(project: Path, out_dir: Path) -> None:
    save(project, "generate", {"key": generation_key(project), "outputs": outputs_digest(out_dir)})


def compile_package() -> None:
    """Write the package's bytecode once its sources changed: where PYTHONDONTWRITEBYTECODE is set,
    Python reads .pyc files but never writes them, so every run would compile the sources again."""
    import compileall

    try:
        compileall.compile_dir(str(PACKAGE), quiet=1)
    except OSError:
        pass


# -- lint ------------------------------------------------------------------------

def lint_key(template: Path, project: Path, arguments: list[str]) -> str:
    rc = project / ".cfnlintrc"
    parts = [hashlib.sha256(template.read_bytes()).hexdigest(),
             hashlib.sha256(rc.read_bytes()).hexdigest() if rc.is_file() else "no-cfnlintrc",
             json.dumps(arguments), f"cfn-lint=={version('cfn-lint')}", python_version()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def lint_results(project: Path) -> dict[str, dict]:
    return load(project, "lint").get("results", {})


def save_lint_results(project: Path, results: dict[str, dict]) -> None:
    save(project, "lint", {"results": results})
