"""Switching a visual tier's video model mid-project (SPEC §7: no silent switches).

A visual tier is named as the log names it: ``visual_premium``, ``visual_mid``,
``visual_low`` (the ``[visual]`` keys premium / mid / low with the prefix that keeps them apart
from the text tiers; ``premium`` alone is the text tier). Its model is the one its last render
was paid on (the tier's spend rows) or its last recorded switch.

- :func:`refuse_silent_visual_switch`: before anything is reserved or sent, a tier whose
  ``[visual]`` model differs from that model stops, naming ``slate switch <tier>``.
- :func:`visual_switch_decision`: the ROUTING_DECISION of a switch: the catalogue's worst case
  per planned shot of the tier, old model against new, the totals, and the two conditions:
  a QC sample and a lock-consistency test. The sample is the tier's shot with the most locked
  characters (ties: the first in story order), so qc-grader's lock checks (face, wardrobe,
  set) run on the shot with the most to keep; it is rendered first on the new model.
- :func:`refuse_before_sample`: the tier's other shots are not rendered on the new model until
  the sample's first take on it has a QC verdict; PASS or FIX lets them through, FAIL
  hard-stops the tier (revert the mapping, or ``slate override <sample>``).
- :func:`refuse_stale_pack`: a GenPack packed for another model than the tier's (its
  [SETTINGS] ``video_model``) is re-packed first: its clip length follows the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..core._config import Config
from ..core._errors import (
    ConfigError,
    HardStop,
    InputNotReady,
    ProviderError,
    RunError,
    UserError,
)
from ..core._names import SHOT_RE, scene_of
from ..core._video_prices import video_cost, video_entry
from ..core._visual_models import HERO_VISUAL, tier_model
from ..schemas import GenPack, QcBatch, ShotList, ShotRow, schema_for
from ..store import _runlog
from ..store._project import Project
from ..store._store import Store
from ._override import lift
from ._router import Route
from ._stops import all_open_hard_stops, record_hard_stop

__all__ = [
    "VISUAL_TIERS",
    "Sample",
    "current_sample",
    "lift_failed_samples",
    "pack_model_changed",
    "packed_model",
    "refuse_before_sample",
    "refuse_silent_visual_switch",
    "refuse_stale_pack",
    "refuse_switch",
    "refuse_unconfigured",
    "switch_sample",
    "visual_switch_decision",
    "visual_tier_name",
]

VISUAL_TIERS = ("visual_premium", "visual_mid", "visual_low")
SAMPLE_STOP = "switch_sample"  # the hard stop a failed QC sample records on its shot
SAMPLE_NOTE = re.compile(rf"QC sample ({SHOT_RE.pattern});")
VIDEO_MODEL = re.compile(r"^video_model: (.+)$", re.MULTILINE)
SampleState = Literal["pending", "passed", "failed", "overridden"]


def visual_tier_name(tier: str) -> str | None:
    """The log's name of a visual tier (``visual_low``), None for a text tier; a bare
    ``low`` / ``mid`` is a clear error naming the right spelling."""
    if tier in VISUAL_TIERS:
        return tier
    if tier in ("low", "mid", "visual"):
        right = "visual_low, visual_mid or visual_premium" if tier == "visual" else f"visual_{tier}"
        raise UserError(
            f"{tier!r} is not a tier name: the [visual] tiers are named visual_premium, "
            f"visual_mid and visual_low (as the run log names them; premium alone is the text "
            f"tier). Use `slate switch {right} --reason ...`",
            tier=tier,
        )
    return None


def _key(tier: str) -> str:
    return tier.removeprefix("visual_")


def last_visual_model(store: Store, tier: str) -> tuple[int, str] | None:
    """(log seq, model) of the tier's last paid render or recorded switch."""
    row = store.conn.execute(
        "SELECT seq, model_used FROM runlog WHERE tier = ? AND model_used != '' AND "
        "(event = 'spend' OR (event = 'routing' AND outcome = 'SWITCH')) "
        "ORDER BY seq DESC LIMIT 1",
        (tier,),
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def refuse_silent_visual_switch(store: Store, tier: str, model: str) -> None:
    """A visual tier whose model changed since its last render needs ``slate switch``."""
    previous = last_visual_model(store, tier)
    if previous is None or previous[1] == model:
        return
    raise HardStop(
        f"[visual] {_key(tier)} now names {model} but the {tier} tier's last render was on "
        f"{previous[1]}: no silent provider switches (SPEC §7). Record the decision with "
        f"`slate switch {tier} --reason ...` (it compares the costs and names a QC sample), "
        f'or restore {_key(tier)} = "{previous[1]}" under [visual] in filmslate.toml. '
        "Nothing was reserved or sent.",
        tier=tier,
    )


def refuse_switch(project: Project, route: Route, pack: GenPack, shot: ShotRow) -> None:
    """SPEC §7 for a render of the shot on its route: a changed model needs ``slate switch``,
    the tier's other shots wait for the switch's QC sample, a GenPack packed for another
    model is re-packed first."""
    refuse_silent_visual_switch(project.store, route.tier, route.model)
    refuse_before_sample(project, route.tier, route.model, shot.shot_id)
    refuse_stale_pack(project.config, pack, shot)


def refuse_unconfigured(config: Config, model: str) -> None:
    """A model no provider serves because ``[visual]`` no longer names it: a job recorded
    for it (before a switch) can only be followed or fetched through it; say so."""
    named = sorted({str(getattr(config.visual, key)) for key in HERO_VISUAL.values()})
    if model in named:
        return
    raise ProviderError(
        f"a recorded render job was made by {model!r}, which [visual] no longer names (it "
        f"names {', '.join(named)}): that job can only be followed or fetched through "
        f"{model}. Put it back under [visual] until its jobs are settled (`slate switch` "
        "records a change of model)",
        model=model,
    )


# -- the GenPack follows the model ----------------------------------------------------------


def packed_model(pack: GenPack) -> str | None:
    """The video model a GenPack was packed for (its [SETTINGS] ``video_model``)."""
    found = VIDEO_MODEL.search(pack.settings)
    return found.group(1).strip() if found else None


def expected_model(config: Config, row: ShotRow) -> str | None:
    """The model prompt-packager records for the shot now (None: outside the catalogue)."""
    model = tier_model(config, row.hero_tier)
    return model if video_entry(config, model) is not None else None


def pack_model_changed(config: Config, pack: GenPack, row: ShotRow) -> bool:
    """True when the pack was made for another model than the shot's tier names now."""
    return packed_model(pack) != expected_model(config, row)


def refuse_stale_pack(config: Config, pack: GenPack, row: ShotRow) -> None:
    """A pack that names another video model than the tier's is re-packed first (its clip
    length is that model's); a pack naming none (hand-made, older) is taken as it is."""
    packed = packed_model(pack)
    if packed is None or packed == expected_model(config, row):
        return
    now = tier_model(config, row.hero_tier)
    raise InputNotReady(
        f"{row.shot_id}: its GenPack was packed for {packed}, but [visual] "
        f"{HERO_VISUAL[row.hero_tier]} now names {now}: run prompt-packager on {row.shot_id} "
        "first (`slate run` re-packs it), so the clip length and settings are the new model's",
        target=row.shot_id,
    )


# -- the decision -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ShotCost:
    """One planned shot of the tier: worst case (proxy + final) on the old and new model."""

    row: ShotRow
    old: float | None  # None: the old model has no price anywhere
    new: float
    rendered: bool


def _worst(config: Config, model: str, row: ShotRow) -> float | None:
    try:
        return sum(video_cost(config, model, res, row.duration_s) for res in ("proxy", "final"))
    except ConfigError:
        return None


def tier_rows(store: Store, tier: str) -> tuple[list[ShotRow], list[str]]:
    """The planned shots whose hero tier routes to the visual tier, in story order, and
    the shot-list versions they came from."""
    rows: list[ShotRow] = []
    used: list[str] = []
    for record in store.latest_of_each("SHOTLIST"):
        shotlist = store.load(record.name)
        if isinstance(shotlist, ShotList):
            rows += [r for r in shotlist.rows if f"visual_{HERO_VISUAL[r.hero_tier]}" == tier]
            used.append(record.filename)
    return sorted(rows, key=lambda r: r.shot_id), used


def locked_characters(store: Store, row: ShotRow) -> int:
    """How many of the shot's characters have a CHAR lock."""
    return sum(store.latest("CHAR_LOCK", cid) is not None for cid in row.char_ids)


def _rendered(store: Store, shot_id: str) -> bool:
    return (
        store.conn.execute(
            "SELECT 1 FROM render_jobs WHERE shot_id = ? AND state = 'done' LIMIT 1", (shot_id,)
        ).fetchone()
        is not None
    )


def visual_switch_decision(
    store: Store, config: Config, tier: str, reason: str
) -> tuple[Any, list[str], _runlog.LogEntry]:
    """The ROUTING_DECISION moving a visual tier to the model ``[visual]`` names now, the
    shot lists it read and its log row (``_decisions.record_switch`` writes them)."""
    if not reason.strip():
        raise UserError("a switch needs --reason: say why the model changes")
    new = tier_model(config, {"premium": "A", "mid": "B", "low": "C"}[_key(tier)])
    previous = last_visual_model(store, tier)
    old = previous[1] if previous else "(none)"
    if previous is not None and old == new:
        raise RunError(f"tier {tier} already renders on {new}: nothing to switch")
    rows, used = tier_rows(store, tier)
    costs = [
        ShotCost(
            r,
            _worst(config, old, r) if previous else None,
            _worst(config, new, r) or 0.0,
            _rendered(store, r.shot_id),
        )
        for r in rows
    ]
    sample = max(rows, key=lambda r: locked_characters(store, r), default=None)
    impact = _impact(costs)
    payload = schema_for("ROUTING_DECISION").model_validate(
        {
            "task": f"PROVIDER_SWITCH_{tier.upper()}",
            "task_type": "provider switch (visual tier)",
            "required_capability": f"video for the {tier} tier ([visual] {_key(tier)})",
            "tier_selected": tier,
            "model": new,
            "justification": _justification(reason, tier, old, new, costs, impact),
            "cost_impact": impact,
            "escalation_conditions": _conditions(store, tier, old, new, sample),
        }
    )
    sampled = f"QC sample {sample.shot_id}; " if sample else ""
    return (
        payload,
        used,
        _runlog.LogEntry(
            run_id=_runlog.new_run_id(),
            skill_name="model-router",
            event="routing",
            outcome="SWITCH",
            tier=tier,
            model_used=new,
            estimated_cost=impact,
            target="PROJECT",
            notes=f"{sampled}{old} -> {new}: {reason}",
        ),
    )


def _impact(costs: list[ShotCost]) -> float:
    """What the switch commits beyond staying: every shot of the tier on the new model (the
    rendered ones are re-rendered: their GenPacks name the model) less the old model's
    worst case for the shots not rendered yet."""
    staying = sum(c.old or 0.0 for c in costs if not c.rendered)
    return round(sum(c.new for c in costs) - staying, 4)


def _money(value: float | None) -> str:
    return "unpriced" if value is None else f"{value:.2f}"


def _justification(
    reason: str, tier: str, old: str, new: str, costs: list[ShotCost], impact: float
) -> str:
    lines = [
        f"{reason}. Switching {tier} from {old} to {new}. Worst case per planned shot "
        "(proxy + final, from the model catalogue or [prices.video]), old -> new:"
    ]
    lines += [
        f"- {c.row.shot_id} ({c.row.duration_s:g}s, {'rendered' if c.rendered else 'not rendered'}"
        f"): {_money(c.old)} -> {_money(c.new)}"
        for c in costs
    ] or ["- no shot is planned on this tier yet"]
    todo = [c for c in costs if not c.rendered]
    old_todo = sum(c.old or 0.0 for c in todo)
    lines.append(
        f"Total for the {len(todo)} shot(s) not yet rendered: {old_todo:.2f} -> "
        f"{sum(c.new for c in todo):.2f}. The {len(costs) - len(todo)} rendered shot(s) are "
        f"re-rendered on {new} (their GenPacks record the model, so they are re-packed): "
        f"{sum(c.new for c in costs if c.rendered):.2f}. Cost impact {impact:+.2f}."
    )
    return "\n".join(lines)


def _conditions(store: Store, tier: str, old: str, new: str, sample: ShotRow | None) -> list[str]:
    revert = f'restore [visual] {_key(tier)} = "{old}"' if old != "(none)" else "revert"
    if sample is None:
        return [f"no planned shot on {tier}: the first shot planned on it is the QC sample"]
    chars = ", ".join(sample.char_ids) or "none"
    return [
        f"QC sample: {sample.shot_id} is rendered first on {new} and graded by qc-grader "
        f"before any other {tier} shot is rendered on it (the render service refuses them "
        "until then)",
        f"lock-consistency test: {sample.shot_id} has the most locked characters of the tier "
        f"({locked_characters(store, sample)}: {chars}; set {sample.set_id}), so qc-grader's "
        "face, wardrobe and set checks against the locks run on it",
        f"a FAIL on the sample hard-stops {tier}: {revert} and record the switch back, or "
        f"`slate override {sample.shot_id} --reason ... --cost-impact 0` to go on with {new}",
    ]


# -- the QC sample ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """The QC sample of a tier's latest switch."""

    tier: str
    shot_id: str
    model: str
    seq: int  # the switch's log row
    since: str  # its timestamp: jobs made after it are on the new model


def switch_sample(store: Store, tier: str) -> Sample | None:
    """The sample of the tier's latest recorded switch (None: no switch names one)."""
    row = store.conn.execute(
        "SELECT seq, model_used, timestamp, notes FROM runlog WHERE tier = ? AND "
        "event = 'routing' AND outcome = 'SWITCH' ORDER BY seq DESC LIMIT 1",
        (tier,),
    ).fetchone()
    found = SAMPLE_NOTE.match(str(row[3])) if row else None
    if row is None or found is None:
        return None
    return Sample(tier, found.group(1), str(row[1]), int(row[0]), str(row[2]))


def sample_state(project: Project, sample: Sample) -> SampleState:
    """Where the sample stands: its first take on the new model graded or not, and how."""
    store = project.store
    job = store.conn.execute(
        "SELECT graded FROM render_jobs WHERE shot_id = ? AND resolution = 'proxy' AND "
        "provider = ? AND state = 'done' AND created_at >= ? ORDER BY rowid LIMIT 1",
        (sample.shot_id, sample.model, sample.since),
    ).fetchone()
    record = store.latest("QC_BATCH", scene_of(sample.shot_id))
    batch = store.load(record.name) if job is not None and record is not None else None
    rows = (
        [r for r in batch.rows if r.shot_id == sample.shot_id] if isinstance(batch, QcBatch) else []
    )
    if job is None or len(rows) <= int(job[0]):
        return "pending"
    if rows[int(job[0])].verdict != "FAIL":
        return "passed"
    stops = _sample_stops(project, sample)
    return "overridden" if stops and not any(open_ for _, open_ in stops) else "failed"


def _sample_stops(project: Project, sample: Sample) -> list[tuple[str, bool]]:
    """(run id, still open) of the sample hard stops recorded since the switch."""
    opened = {s.run_id for s in all_open_hard_stops(project) if s.kind == SAMPLE_STOP}
    rows = project.store.conn.execute(
        "SELECT run_id FROM runlog WHERE event = 'hard_stop' AND outcome = ? AND target = ? "
        "AND seq > ?",
        (SAMPLE_STOP, sample.shot_id, sample.seq),
    ).fetchall()
    return [(str(r[0]), str(r[0]) in opened) for r in rows]


def current_sample(project: Project, tier: str, model: str) -> tuple[Sample, SampleState] | None:
    """The QC sample of the tier's latest switch to ``model`` and where it stands. A sample
    no longer planned (the shot list changed since) gives way to the first shot rendered on
    the model since the switch; None when there is none yet (the next one is the sample)."""
    sample = switch_sample(project.store, tier)
    if sample is None or sample.model != model:
        return None
    state = sample_state(project, sample)
    if state != "pending" or sample.shot_id in {
        r.shot_id for r in tier_rows(project.store, tier)[0]
    }:
        return sample, state
    first = project.store.conn.execute(
        "SELECT shot_id FROM render_jobs WHERE provider = ? AND resolution = 'proxy' AND "
        "created_at >= ? ORDER BY rowid LIMIT 1",
        (model, sample.since),
    ).fetchone()
    if first is None:
        return None
    stand_in = replace(sample, shot_id=str(first[0]))
    return stand_in, sample_state(project, stand_in)


def refuse_before_sample(project: Project, tier: str, model: str, shot_id: str) -> None:
    """The tier's shots wait for the switch's QC sample; a FAIL on it hard-stops the tier."""
    found = current_sample(project, tier, model)
    if found is None:
        return
    sample, state = found
    if state == "pending" and shot_id != sample.shot_id:
        raise InputNotReady(
            f"{shot_id}: {tier} was switched to {model}; its QC sample {sample.shot_id} is "
            f"rendered and graded first (SPEC §7). Run render-proxy and qc-grader on "
            f"{sample.shot_id} (`slate run` does it first), then {shot_id}. Nothing was sent.",
            target=shot_id,
        )
    if state == "failed":
        reason = (
            f"the QC sample {sample.shot_id} of the {tier} switch to {model} got QC FAIL: "
            f"{tier} is stopped. Restore the old model under [visual] and record "
            f"`slate switch {tier} --reason ...` back, or record `slate override "
            f"{sample.shot_id} --reason ... --cost-impact 0` to go on with {model}"
        )
        if not _sample_stops(project, sample):
            record_hard_stop(project, sample.shot_id, SAMPLE_STOP, reason, "render-proxy")
        raise HardStop(reason + ". Nothing was sent.", kind=SAMPLE_STOP, target=sample.shot_id)


def lift_failed_samples(project: Project, tier: str) -> None:
    """A new switch of the tier (a revert, another model) supersedes the hard stop a failed
    QC sample of its last switch left: its sample is the new switch's to judge."""
    for stop in all_open_hard_stops(project):
        if stop.kind == SAMPLE_STOP and f"of the {tier} switch to" in stop.reason:
            lift(project, stop, f"superseded by a new {tier} switch", by_skill="model-router")
