"""Pure helpers the production skills share: no skill and no Context here.

What a lock looks like pasted into a GenPack, which regen rules apply to a shot, how a GenPack
is fingerprinted and how a QC row names the GenPack it graded, and the input that reads a QC
batch as a history of attempts.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from ...engine._skill import Need
from ...schemas import Artifact, GenPack, QcBatch, RegenRules

PACKAGE = "filmslate.skills.production"  # the package whose prompts/ holds the prompts
CROWD = 3  # this many characters in one frame make a shot "multi-character"
GENPACK_NOTE = re.compile(r"genpack (\S+) sha256:([0-9a-f]{12})")


def lock_text(lock: Artifact) -> str:
    """A lock as it sits in its .txt file, without the final newline (pasted verbatim)."""
    return lock.render().decode("utf-8").removesuffix("\n")


def applicable_rules(rules: RegenRules | None, shot_id: str) -> list[str]:
    """The regen rules whose scope is this shot, its scene or ALL, as negative lines."""
    if rules is None:
        return []
    scopes = {shot_id, shot_id.split("_SH", 1)[0], "ALL"}
    return [
        f"- regen rule ({rule.type}, {rule.scope}): {rule.rule}"
        for rule in rules.prompt_adjustment_rules
        if rule.scope in scopes
    ]


def rules_missing(pack: GenPack, rules: RegenRules | None, shot_id: str) -> list[str]:
    """The regen rules that apply to the shot but are not in its GenPack yet (a pack made
    before the rules changed must be rebuilt)."""
    text = pack.render().decode("utf-8")
    return [line for line in applicable_rules(rules, shot_id) if line not in text]


def genpack_changed(previous: GenPack | None, new: GenPack) -> bool:
    """True when ``new`` differs from the last pack of the shot (a regen must change it)."""
    return previous is None or previous.render() != new.render()


def pack_digest(pack: GenPack) -> str:
    """A short content hash of a GenPack: equal digests mean the same prompt."""
    return hashlib.sha256(pack.render()).hexdigest()[:12]


def passed_with(batch: QcBatch | None, shot_id: str, pack: GenPack) -> tuple[bool, str]:
    """Whether the shot's last QC row is a PASS of a take made from this very GenPack, and a
    short description of that row (for the refusal message)."""
    rows = [row for row in batch.rows if row.shot_id == shot_id] if batch else []
    if not rows:
        return False, "no QC row"
    last = rows[-1]
    graded = GENPACK_NOTE.search(last.notes)
    if graded is None or graded.group(2) != pack_digest(pack):
        return False, f"attempt {last.attempt_number} graded an earlier GenPack"
    return last.verdict == "PASS", f"attempt {last.attempt_number}: {last.verdict}"


def history(kind_name: str, scope: Any) -> Need:
    """An optional, lineage-free input read as a record of past attempts.

    A QC batch whose last row failed is FAIL-gated, and it goes stale as soon as the next proxy
    is rendered; both are normal for a history, so the runner skips those checks for it.
    """
    return Need(kind_name, scope, optional=True, lineage=False, history=True)


__all__ = [
    "CROWD",
    "GENPACK_NOTE",
    "PACKAGE",
    "applicable_rules",
    "genpack_changed",
    "history",
    "lock_text",
    "pack_digest",
    "passed_with",
    "rules_missing",
]
