"""What each local vendor received, read the same way for fal, ComfyUI and Replicate.

A :class:`Sent` is one generation request as the server recorded it: the catalogue key of the
model, the prompt and negative prompt, the sha256 of the first frame and of every reference
image, the duration value and the settings a price depends on. The readers know each
vendor's wire format (fal's queue body, Replicate's prediction input, a ComfyUI workflow
graph with its uploads); the keys inside come from the model's catalogue entry.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

from filmslate.core._catalogue import Catalogue, ModelEntry
from filmslate.testing.comfyui_server import ComfyUIServer
from filmslate.testing.fal_server import FalServer, data_uri_digests
from filmslate.testing.replicate_server import ReplicateServer

MEGAPIXEL = 1024 * 1024


@dataclass(frozen=True)
class Sent:
    """One generation request a vendor received."""

    model: str  # the catalogue key, "provider:model"
    entry: ModelEntry
    prompt: str
    negative: str | None = None
    first: str | None = None  # sha256 of the first frame
    references: tuple[str, ...] = ()  # sha256 of each reference image
    duration: Any = None  # the duration value as sent
    settings: dict[str, Any] = field(default_factory=dict)  # the rest of the input

    @property
    def seconds(self) -> float:
        """The clip length the duration value asks for."""
        shape, value = self.entry.input, self.duration
        if shape.duration_format == "frames":
            fps, offset = self.entry.fps or 0, self.entry.frame_offset
            return (int(value) - offset) / fps
        return float(str(value).removesuffix("s"))

    def price(self) -> float:
        """What the catalogue says this request costs, from its billing table."""
        billing = self.entry.billing
        if billing.unit == "per_clip":
            return billing.clips[f"{self.seconds:g}"]
        if billing.unit in ("per_image", "per_job"):
            return billing.price or 0.0
        if billing.unit == "per_megapixel":
            size = self.settings[self.entry.input.size or "image_size"]
            units = math.ceil(int(size["width"]) * int(size["height"]) / MEGAPIXEL)
            return units * (billing.price or 0.0)
        if billing.unit == "per_second":
            resolution = self.settings.get(self.entry.input.resolution or "")
            price = billing.by_resolution.get(str(resolution), billing.price)
            return (price or 0.0) * self.seconds
        raise AssertionError(f"no price reader for {billing.unit}")


def fal_sent(server: FalServer, catalogue: Catalogue) -> list[Sent]:
    """Every fal submit, oldest first."""
    return [
        _read(catalogue.get(f"fal:{model}"), body, data_uri_digests)
        for model, body in server.submits()
    ]


def replicate_sent(server: ReplicateServer, catalogue: Catalogue) -> list[Sent]:
    """Every Replicate prediction created, oldest first."""
    return [
        _read(catalogue.get(f"replicate:{model}"), body, server.image_digests)
        for model, body in server.creates()
    ]


def comfyui_sent(server: ComfyUIServer, catalogue: Catalogue) -> list[Sent]:
    """Every ComfyUI workflow queued, read through the shipped template it was filled from:
    each placeholder's node input holds what the provider put there; an image input names
    a file uploaded before."""
    found = []
    for workflow in server.prompts:
        model, template = _template_of(workflow)
        entry = catalogue.get(f"comfyui:{model}")
        filled = {
            placeholder: workflow[node]["inputs"][name]
            for placeholder, (node, name) in _placeholders(template).items()
        }

        def digest(value: Any) -> list[str]:
            return [hashlib.sha256(server.uploads[str(value)]).hexdigest()]

        found.append(_read(entry, filled, digest, references_all="{{reference_"))
    return found


def _read(
    entry: ModelEntry,
    body: dict[str, Any],
    digests: Any,
    references_all: str | None = None,
) -> Sent:
    shape = entry.input
    first = digests(body[shape.first_image]) if shape.first_image in body else []
    if references_all is not None:  # ComfyUI: one placeholder per reference slot
        references = [
            d for k, v in sorted(body.items()) if k.startswith(references_all) for d in digests(v)
        ]
    else:
        references = digests(body[shape.references]) if shape.references in body else []
    return Sent(
        model=entry.key,
        entry=entry,
        prompt=str(body[shape.prompt]),
        negative=body.get(shape.negative_prompt) if shape.negative_prompt else None,
        first=first[0] if first else None,
        references=tuple(references),
        duration=body.get(shape.duration) if shape.duration else None,
        settings=dict(body),
    )


def _templates() -> dict[str, dict[str, Any]]:
    folder = files("filmslate.providers") / "comfyui_workflows"
    return {
        item.name.removesuffix(".json"): json.loads(item.read_text(encoding="utf-8"))
        for item in folder.iterdir()
        if item.name.endswith(".json")
    }


def _template_of(workflow: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    shape = {node: spec["class_type"] for node, spec in workflow.items()}
    for name, template in _templates().items():
        if {node: spec["class_type"] for node, spec in template.items()} == shape:
            return name, template
    raise AssertionError(f"no shipped workflow template has the nodes {sorted(shape)}")


def _placeholders(template: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Each whole-value placeholder of a template and the (node, input) it sits in."""
    return {
        value: (node, name)
        for node, spec in template.items()
        for name, value in spec["inputs"].items()
        if isinstance(value, str) and value.startswith("{{") and value.endswith("}}")
    }
