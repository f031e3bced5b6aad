"""The pack's ComfyUI Registry metadata: ``[tool.comfy]`` in pyproject.toml, its icon, and CHANGELOG.md.

``comfy node validate`` itself runs in ``tests/e2e/test_registry_validate.py`` (it needs comfy-cli from PyPI).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import tomllib

REPO_ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
MAX_ICON_SIZE = (800, 400)  # width, height: the Registry's limit for the icon


def test_icon_url_is_an_svg_of_this_repository_within_the_registry_size():
    repository = PYPROJECT["project"]["urls"]["Repository"]
    raw_main = repository.replace("https://github.com/", "https://raw.githubusercontent.com/") + "/main/"
    icon = PYPROJECT["tool"]["comfy"]["Icon"]
    assert icon.startswith(raw_main), f"Icon {icon!r} is not a file of {repository} on main"
    path = REPO_ROOT / icon.removeprefix(raw_main)
    svg = ElementTree.parse(path).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg", f"{path} is not an SVG"
    size = (float(svg.get("width")), float(svg.get("height")))
    assert 0 < size[0] <= MAX_ICON_SIZE[0] and 0 < size[1] <= MAX_ICON_SIZE[1], size
    assert svg.get("viewBox") == f"0 0 {svg.get('width')} {svg.get('height')}"


def test_registry_names_are_set():
    comfy = PYPROJECT["tool"]["comfy"]
    assert comfy["PublisherId"] and comfy["DisplayName"]
    # The Registry's node id: letters, digits, - _ . ; no leading digit or special character, no run of two.
    assert re.fullmatch(r"[A-Za-z](?:[A-Za-z0-9]|[-_.](?=[A-Za-z0-9]))*", PYPROJECT["project"]["name"])


def test_changelog_has_the_pyproject_version_newest_first():
    version = PYPROJECT["project"]["version"]
    headings = re.findall(r"^## (\S+)", (REPO_ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert version in headings, f"CHANGELOG.md has no '## {version}' (pyproject.toml's version): {headings}"
    released = [h for h in headings if h != "Unreleased"]
    assert released[0] == version, (
        f"the newest release in CHANGELOG.md is {released[0]}, pyproject says {version}"
    )
    assert "Unreleased" not in headings or headings[0] == "Unreleased", headings
