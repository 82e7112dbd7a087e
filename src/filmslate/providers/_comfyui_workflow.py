"""ComfyUI workflow templates: the shipped pair, their pins, and filling the placeholders.

A template is an API-format workflow (node id -> ``{"class_type", "inputs"}``) whose job values
are placeholders. A string input that is exactly a numeric placeholder (``"{{seed}}"``,
``"{{width}}"``, ``"{{height}}"``, ``"{{fps}}"``, ``"{{frames}}"``, ``"{{duration_s}}"``)
becomes that number; the text placeholders (``{{prompt}}``, ``{{negative_prompt}}``,
``{{shot_id}}``, ``{{key}}``, ``{{image}}``, ``{{reference_1}}`` ... ``{{reference_N}}``) are
replaced inside strings (images by the name ComfyUI stored the upload under).

The catalogue's ComfyUI entries (``core/catalogue/comfyui.toml``) name their template by id:
``providers/comfyui_workflows/<id>.json``, package data. Each is pinned here by the sha256 of
its canonical JSON (sorted keys, no spaces, UTF-8), so an edited template is refused when the
provider is built; a project's own workflow comes with its own pin.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from typing import Any

from ..core._errors import ProviderError

_PACKAGE = __name__.rpartition(".")[0]  # filmslate.providers: the templates live beside
NUMERIC_PLACEHOLDERS = ("seed", "width", "height", "fps", "frames", "duration_s")
# The shipped templates and their pins: changing a template means changing its pin here, on
# purpose, in the same commit.
SHIPPED_PINS = {
    "flux-dev": "3eb7042177f9719b8b868cc633ae924966641dcd155286073385895d633d3c50",
    "flux-kontext-dev": "bf7b869fb5b16a64f56af0d13ce17c21e4ec4b3e388b694a7bdda14f29431bdd",
    "wan2.2-i2v-14b": "b33bb50b4c2a2cbfc83e51e817218f4f94a391c07f7dc0b3de1f76fd07361549",
}


def workflow_hash(workflow: dict[str, Any]) -> str:
    """The pin of a workflow: sha256 of its canonical JSON."""
    canonical = json.dumps(workflow, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def shipped_workflow(model: str) -> tuple[dict[str, Any], str]:
    """The shipped template for the catalogue's ComfyUI model id, and its pin."""
    pin = SHIPPED_PINS.get(model)
    if pin is None:
        known = ", ".join(sorted(SHIPPED_PINS))
        raise ProviderError(
            f"no shipped ComfyUI workflow for {model!r} (shipped: {known}); give the provider "
            "your own workflow and its sha256",
            failure="invalid_input",
        )
    text = resources.files(_PACKAGE).joinpath("comfyui_workflows", f"{model}.json")
    workflow = json.loads(text.read_text(encoding="utf-8"))
    if not isinstance(workflow, dict):
        raise ProviderError(f"the shipped ComfyUI workflow {model} is not a JSON object")
    return workflow, pin


def check_pin(workflow: dict[str, Any], pinned: str) -> None:
    """Refuse a workflow that does not match its pin."""
    actual = workflow_hash(workflow)
    if actual != pinned.lower():
        raise ProviderError(
            f"the ComfyUI workflow does not match its pin: sha256 {actual}, pinned {pinned}; "
            "re-pin it deliberately if the change is intended",
            actual=actual,
            pinned=pinned,
            failure="invalid_input",
        )


def fill(workflow: Any, numbers: dict[str, int | float], texts: dict[str, str]) -> Any:
    """A copy of the workflow with the values in place of its ``{{...}}`` placeholders."""
    exact = {f"{{{{{key}}}}}": value for key, value in numbers.items()}
    marks = [(f"{{{{{key}}}}}", text) for key, text in texts.items()]

    def one(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: one(item) for key, item in value.items()}
        if isinstance(value, list):
            return [one(item) for item in value]
        if isinstance(value, str):
            if value in exact:
                return exact[value]
            for mark, text in marks:
                value = value.replace(mark, text)
        return value

    return one(workflow)


def placeholders(workflow: Any) -> set[str]:
    """Every ``{{name}}`` placeholder the workflow uses."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            rest = value
            while "{{" in rest and "}}" in rest.split("{{", 1)[1]:
                name, rest = rest.split("{{", 1)[1].split("}}", 1)
                found.add(name)

    walk(workflow)
    return found


def upload_name(data: bytes, stem: str) -> str:
    """The name an image is uploaded under: its digest, so the payload recorded before the
    upload names the same file the workflow then loads."""
    return f"filmslate_{stem}_{hashlib.sha256(data).hexdigest()[:16]}.png"
