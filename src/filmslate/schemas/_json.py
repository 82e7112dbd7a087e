"""JSON artifacts: the model's fields as top-level keys, in declared order, two-space indent."""

from __future__ import annotations

import json
from typing import Any, ClassVar, Self

from ._base import Artifact, build, decode, fail


class JsonArtifact(Artifact):
    """Canonical state as JSON; top-level keys exactly the model's fields, in order."""

    EXTENSION: ClassVar[str] = "json"

    def render(self) -> bytes:
        text = json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False)
        return (text + "\n").encode("utf-8")

    @classmethod
    def parse(cls, data: bytes) -> Self:
        text = decode(cls, data)
        try:
            document = json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
        except json.JSONDecodeError as exc:
            raise fail(cls, f"column {exc.colno}: invalid JSON: {exc.msg}", exc.lineno) from None
        except _DuplicateKey as exc:
            raise fail(cls, f"duplicate key {exc.args[0]!r}", field=exc.args[0]) from None
        if not isinstance(document, dict):
            raise fail(cls, f"expected a JSON object, got {type(document).__name__}", 1)
        cls._check_top_level(list(document))
        return build(cls, document)

    @classmethod
    def _check_top_level(cls, keys: list[str]) -> None:
        expected = list(cls.model_fields)
        missing = [k for k in expected if k not in keys]
        extra = [k for k in keys if k not in expected]
        if missing or extra:
            problems = ([f"missing {', '.join(map(repr, missing))}"] if missing else []) + (
                [f"unexpected {', '.join(map(repr, extra))}"] if extra else []
            )
            raise fail(
                cls,
                f"top-level keys must be exactly {', '.join(expected)}: {'; '.join(problems)}",
                field=(missing + extra)[0],
            )
        if keys != expected:
            raise fail(
                cls,
                f"top-level keys out of order; expected {', '.join(expected)} "
                f"but got {', '.join(keys)}",
                field=keys[0],
            )


class _DuplicateKey(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def sorted_by_key(mapping: dict[str, Any]) -> dict[str, Any]:
    """A map keyed by id, in key order (so renders are stable whatever the insertion order)."""
    return dict(sorted(mapping.items()))
