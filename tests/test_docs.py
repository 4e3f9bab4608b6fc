"""The documentation site: it builds with warnings as errors, and it cannot drift.

* ``mkdocs build --strict`` must pass (broken links, missing anchors, pages left out of
  the nav: all errors). CI runs pytest, so this is the docs' CI check.
* Every verb of ``cli.VERBS`` has ``docs/verbs/<verb>.md``, listed in the nav, naming
  every option the verb's parser has.
* Every ``schemas/*.json`` is embedded in the docs under a marker
  ``<!-- schema: schemas/NAME -->`` followed by a ```` ```json ```` block equal to the
  committed file. After changing a schema, refresh the blocks with
  ``python tests/test_docs.py --write-schemas``; a new schema file needs a marker (and
  a section describing it) on its format page first.
* Every plugin setting (``conda_layer.settings.SETTINGS``) is documented.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SCHEMAS = ROOT / "schemas"

#: ``<!-- schema: schemas/x.schema.json -->`` then a fenced json block.
_SCHEMA_BLOCK = re.compile(
    r"<!-- schema: schemas/(?P<name>\S+?) -->[ \t]*\n```json[ \t]*\n"
    r"(?P<body>(?:(?!^```).)*?)^```", re.DOTALL | re.MULTILINE)


def _pages() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in sorted(DOCS.rglob("*.md"))}


def _nav_files() -> list[str]:
    from ruamel.yaml import YAML

    config = YAML(typ="safe").load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)

    walk(config["nav"])
    return found


def test_mkdocs_builds_with_warnings_as_errors(tmp_path):
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--clean",
         "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{output}"
    assert "WARNING" not in output, output
    assert (site / "index.html").is_file()
    assert (site / "img" / "architecture.svg").is_file()
    # Markdown that "builds" but renders wrong: a line starting with `#12345` becomes a
    # heading, a fence inside a list item stays literal text.
    broken = []
    for page in sorted(site.rglob("index.html")):
        html = page.read_text(encoding="utf-8")
        if page.parent == site / "search" or page.name != "index.html":
            continue
        if html.count("<h1") != 1:
            broken.append(f"{page.relative_to(site)}: {html.count('<h1')} <h1> headings")
        if "<p>```" in html:
            broken.append(f"{page.relative_to(site)}: an unrendered ``` fence")
    assert not broken, "\n".join(broken)


def test_every_verb_has_a_page_in_the_nav():
    from conda_store_plugin.cli import VERBS

    nav = _nav_files()
    missing = [v for v in VERBS if not (DOCS / "verbs" / f"{v}.md").is_file()]
    assert not missing, f"verbs without a page in docs/verbs/: {missing}"
    unlisted = [v for v in VERBS if f"verbs/{v}.md" not in nav]
    assert not unlisted, f"verb pages missing from the nav of mkdocs.yml: {unlisted}"


def test_every_verb_page_names_every_option_of_the_verb():
    from conda_store_plugin.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.__class__.__name__ ==
                      "_SubParsersAction")
    problems = []
    for verb, sub in subparsers.choices.items():
        text = (DOCS / "verbs" / f"{verb}.md").read_text(encoding="utf-8")
        for action in sub._actions:
            longs = [o for o in action.option_strings if o.startswith("--")]
            if not longs or "--help" in longs:
                continue
            if not any(f"`{o}" in text for o in longs):
                problems.append(f"{verb}: {'/'.join(longs)}")
    assert not problems, f"options not documented on their verb's page: {problems}"


def test_every_schema_file_is_embedded_and_up_to_date():
    pages = _pages()
    blocks: dict[str, list[tuple[Path, str]]] = {}
    for page, text in pages.items():
        for match in _SCHEMA_BLOCK.finditer(text):
            blocks.setdefault(match["name"], []).append((page, match["body"]))
    committed = sorted(p.name for p in SCHEMAS.glob("*.json"))
    assert committed, "no schema files found"
    problems = []
    for name in committed:
        mentioned = any(f"schemas/{name}" in text for text in pages.values())
        if not mentioned:
            problems.append(f"{name}: not mentioned anywhere in docs/ (add a section and a "
                            f"`<!-- schema: schemas/{name} -->` block to its format page)")
            continue
        if name not in blocks:
            problems.append(f"{name}: no `<!-- schema: schemas/{name} -->` block with the "
                            "schema's text")
            continue
        want = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
        for page, body in blocks[name]:
            try:
                have = json.loads(body)
            except ValueError:
                have = None
            if have != want:
                problems.append(f"{name}: the copy in {page.relative_to(ROOT)} differs from "
                                "the committed file (run `python tests/test_docs.py "
                                "--write-schemas`)")
    stale = sorted(set(blocks) - set(committed))
    problems += [f"{name}: embedded in the docs but not in schemas/" for name in stale]
    assert not problems, "\n".join(problems)


def test_every_schema_id_is_given():
    text = "\n".join(_pages().values())
    for path in sorted(SCHEMAS.glob("*.json")):
        schema_id = json.loads(path.read_text(encoding="utf-8")).get("$id")
        assert schema_id and schema_id in text, f"$id of {path.name} not in docs"


def test_every_plugin_setting_is_documented():
    from conda_store_plugin.conda_layer.settings import SETTINGS

    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = [name for name in SETTINGS if f"`{name}`" not in text]
    assert not missing, f"settings not documented in docs/configuration.md: {missing}"


def test_architecture_picture_is_well_formed_svg():
    import xml.etree.ElementTree as ET

    root = ET.parse(DOCS / "img" / "architecture.svg").getroot()
    assert root.tag.endswith("svg")
    text = " ".join(t for t in root.itertext())
    for module in ("plugin.py", "conda_layer/", "cli/", "api.py", "lockfile", "store/",
                   "py-rattler", "uv", "conda"):
        assert module in text, f"{module} is not in the architecture picture"


@pytest.mark.parametrize("page", ["index.md", "architecture.md", "migrating.md",
                                  "configuration.md", "concurrency.md", "engine-exit.md",
                                  "conda-integration.md"])
def test_top_level_pages_exist(page):
    assert (DOCS / page).is_file()
    assert page in _nav_files()


def write_schema_blocks() -> int:
    """Replace every embedded schema block with the committed file's text."""
    changed = 0
    for page, text in _pages().items():
        def fresh(match: re.Match) -> str:
            body = (SCHEMAS / match["name"]).read_text(encoding="utf-8").rstrip("\n")
            return f"<!-- schema: schemas/{match['name']} -->\n```json\n{body}\n```"

        new = _SCHEMA_BLOCK.sub(fresh, text)
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed += 1
    return changed


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-schemas"]:
        print(f"updated {write_schema_blocks()} page(s)")
    else:
        sys.exit("usage: python tests/test_docs.py --write-schemas")
