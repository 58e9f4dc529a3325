"""Write generated/ deterministically: templates/*.json and parameters/<env>.json.

The templates are generic (environments differ only in parameter values), so
they are built once; a parameters file is written for every config/*.yaml.
Bytes are stable: sorted keys, fixed indentation, trailing newline.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from .parameters import as_cli_parameters, parameter_values
from .settings import Settings, load_settings


def render(document) -> bytes:
    """Sorted keys, two-space indent, UTF-8, trailing newline: the same bytes every run."""
    # orjson: the json module's indenting encoder is pure Python (about 12 ms for these templates);
    # orjson's import costs a quarter of that once the settings have loaded dataclasses and inspect.
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)


def build_templates() -> dict[str, dict]:
    """name -> template document, root first, then the children in build order."""
    from .stacks import build_children, root

    children = build_children()
    documents = {"root": root.build(children).to_dict()}
    documents.update({name: child.to_dict() for name, child in children.items()})
    documents["artifacts"] = build_artifacts_template()
    return documents


def build_artifacts_template() -> dict:
    from .stacks import artifacts
    from .stacks.base import plain

    return plain(artifacts.build())


def build_baseline_template(documents: dict[str, dict]) -> dict:
    """The account baseline (AWS Config), for the resource types the application's templates use."""
    from .stacks import baseline
    from .stacks.base import plain

    return plain(baseline.build({name: doc for name, doc in documents.items() if name != "artifacts"}))


def environment_settings(root: Path) -> dict[str, Settings]:
    """Every config/<env>.yaml, validated."""
    return {path.stem: load_settings(env=path.stem, root=root) for path in sorted((root / "config").glob("*.yaml"))}


def render_all(root: Path, previous: Path | None = None) -> dict[str, bytes]:
    """Relative path -> bytes of everything under generated/.

    Diagrams: Mermaid for every environment, and SVG where Graphviz's dot is
    installed (CI installs it; the stale-output test knows when it is not).
    """
    from . import diagram

    documents = build_templates()
    files = {f"templates/{name}.json": render(doc) for name, doc in documents.items()}
    files["account/baseline.json"] = render(build_baseline_template(documents))
    for env, settings in environment_settings(root).items():
        values = parameter_values(settings)
        files[f"parameters/{env}.json"] = render(as_cli_parameters(values))
        graph = diagram.build(documents, values, settings)
        files[f"diagrams/{env}.mmd"] = diagram.mermaid(graph).encode()
        if diagram.has_dot():
            files[f"diagrams/{env}.svg"] = diagram.svg_cached(graph, (previous or root / "generated") / "diagrams"
                                                              / f"{env}.svg")
    return files


README_DIAGRAM = ("<!-- diagram:dev:start -->", "<!-- diagram:dev:end -->")
README_LIFECYCLE = ("<!-- lifecycle:start -->", "<!-- lifecycle:end -->")


def readme_with_block(readme: str, markers: tuple[str, str], content: str) -> str:
    """README.md with the text between two markers replaced."""
    start, end = markers
    if start not in readme or end not in readme:
        return readme
    head, rest = readme.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{content}{end}{tail}"


def readme_with_diagram(readme: str, mermaid_text: str) -> str:
    """README.md with the dev diagram block replaced by the generated one."""
    return readme_with_block(readme, README_DIAGRAM, f"```mermaid\n{mermaid_text}```\n")


README_EGRESS = ("<!-- egress:start -->", "<!-- egress:end -->")


README_ROLES = ("<!-- roles:start -->", "<!-- roles:end -->")


def readme_generated(readme: str, files: dict[str, bytes], root: Path | None = None) -> str:
    """README.md with every generated block current: the dev diagram, the lifecycle table and (given the
    project) the egress cost table and the table of roles."""
    from .transitions import markdown

    if "diagrams/dev.mmd" in files:
        readme = readme_with_diagram(readme, files["diagrams/dev.mmd"].decode())
    if root is not None and (README_EGRESS[0] in readme or README_ROLES[0] in readme):
        from . import role_table
        from .cost import egress_markdown

        documents = generated_documents(files, "templates/")
        readme = readme_with_block(readme, README_EGRESS, egress_markdown(documents, environment_settings(root)))
        readme = readme_with_block(readme, README_ROLES,
                                   role_table.generate(root, documents, generated_documents(files, "account/")))
    return readme_with_block(readme, README_LIFECYCLE, markdown())


def generated_documents(files: dict[str, bytes], folder: str) -> dict[str, dict]:
    """The parsed JSON documents of one folder of generated/ (templates/, account/), by name."""
    return parse_documents({name.removeprefix(folder).removesuffix(".json"): body
                            for name, body in files.items() if name.startswith(folder) and name.endswith(".json")})


SECURITY_SKIPS = ("<!-- skips:start -->", "<!-- skips:end -->")


SECURITY_CI_ROLES = ("<!-- ci-roles:start -->", "<!-- ci-roles:end -->")


def security_generated(text: str, root: Path, files: dict[str, bytes]) -> str:
    """docs/SECURITY.md with the checkov skips table current (from checks/skips.yaml), and the table of
    what the first environment's CI roles and boundary allow (from the templates being written)."""
    from .skips import load_skips, markdown

    text = readme_with_block(text, SECURITY_SKIPS, markdown(load_skips(root)) + "\n")
    if SECURITY_CI_ROLES[0] not in text:
        return text
    from . import deploy_role

    documents = parse_documents({name.removeprefix("templates/").removesuffix(".json"): body
                                 for name, body in files.items() if name.startswith("templates/")})
    settings = next(iter(environment_settings(root).values()))
    return readme_with_block(text, SECURITY_CI_ROLES, deploy_role.markdown(deploy_role.policies(root, settings,
                                                                                                 documents)))


def documents_generated(root: Path, files: dict[str, bytes]) -> dict[str, tuple[str, str]]:
    """Hand-written documents with generated blocks: path -> (text now, text with every block current)."""
    result = {}
    for relative, update in (("README.md", lambda text: readme_generated(text, files, root)),
                             ("docs/SECURITY.md", lambda text: security_generated(text, root, files))):
        path = root / relative
        if path.exists():
            text = path.read_text()
            result[relative] = (text, update(text))
    return result


def read_generated(out_dir: Path) -> dict[str, bytes]:
    """The committed templates, as the deploy verbs use them: name -> bytes.

    Deploys ship exactly what `make templates` wrote, linted and reviewed;
    a test keeps generated/ from going stale.
    """
    from .errors import UserError

    paths = sorted((out_dir / "templates").glob("*.json"))
    names = {p.stem for p in paths}
    if "root" not in names:
        raise UserError(f"{out_dir}/templates/root.json not found: run 'make templates' (automl-cfn templates) first")
    return {p.stem: p.read_bytes() for p in paths}


def parse_documents(files: dict[str, bytes]) -> dict[str, dict]:
    return {name: orjson.loads(body) for name, body in files.items()}


def read_account_documents(out_dir: Path) -> dict[str, dict]:
    """The account templates (generated/account: the baseline), parsed."""
    return {path.stem: orjson.loads(path.read_bytes()) for path in sorted((out_dir / "account").glob("*.json"))}


def read_generated_documents(out_dir: Path) -> dict[str, dict]:
    """The committed templates, parsed."""
    return parse_documents(read_generated(out_dir))


def write(out_dir: Path, files: dict[str, bytes]) -> list[str]:
    """Write files, drop stale ones; returns the paths whose bytes changed."""
    changed = []
    for rel, data in files.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            changed.append(rel)
    for sub, pattern in (("templates", "*.json"), ("parameters", "*.json"), ("diagrams", "*.mmd"),
                         ("diagrams", "*.svg")):
        if pattern == "*.svg" and not any(rel.endswith(".svg") for rel in files):
            continue  # no Graphviz here: keep the committed drawings rather than delete them
        for path in sorted((out_dir / sub).glob(pattern)):
            rel = f"{sub}/{path.name}"
            if rel not in files:
                path.unlink()
                changed.append(rel)
    return changed
