"""Every saved example workflow loads without the front end's workflow-validation alert ("Invalid workflow
against zod schema", a toast the user sees), each read straight from its file (no round trip through the page)."""

from __future__ import annotations

import json

import pytest
from e2e.comfyui_setup import REPO_ROOT

EXAMPLES = sorted((REPO_ROOT / "example_workflows").glob("*.json"))

# The front end's alerts and toasts (PrimeVue), whatever their severity, with their text.
TOASTS = "() => [...document.querySelectorAll('.p-toast-message')].map((t) => t.innerText.trim())"


@pytest.mark.fresh_page
@pytest.mark.parametrize("renderer", ["classic"])  # validation runs before either renderer draws
def test_examples_load_without_validation_alerts(comfy_page):
    assert EXAMPLES, "no example workflows found"
    assert comfy_page.evaluate(TOASTS) == [], comfy_page.screenshot("toasts-at-start")
    problems, seen = {}, len(comfy_page.console)
    for path in EXAMPLES:
        comfy_page.load_workflow(json.loads(path.read_text()))
        comfy_page.page.wait_for_timeout(500)
        toasts = comfy_page.evaluate(TOASTS)
        warnings = [
            e.text
            for e in comfy_page.console[seen:]
            if "zod" in e.text.lower() or "invalid workflow" in e.text.lower()
        ]
        if toasts or warnings:
            problems[path.name] = {
                "toasts": toasts,
                "console": warnings,
                "screenshot": str(comfy_page.screenshot(f"alert-{path.stem}")),
            }
            comfy_page.evaluate(
                "() => document.querySelectorAll('.p-toast-message').forEach((t) => t.remove())"
            )
        seen = len(comfy_page.console)
    assert not problems, json.dumps(problems, indent=1)[:4000]
