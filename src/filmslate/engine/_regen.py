"""Regeneration policy (SPEC §8): attempt limits by hero tier and the forced analyzer.

Read from the run log: failed attempts of a generation skill on a shot since its last PASS,
and whether regen-analyzer has run since the failure that made it mandatory.
"""

from __future__ import annotations

from ..core._errors import AnalyzerRequired, HardStop
from ..store._project import Project

ANALYZER = "regen-analyzer"
QC_GRADER = "qc-grader"  # its FAIL / FIX verdicts are failed attempts of the shot


def hero_tier_of(project: Project, shot_id: str) -> str:
    """The shot's hero tier from its scene's latest shot list (C when not planned yet)."""
    scene = shot_id.split("_SH", 1)[0]
    record = project.store.latest("SHOTLIST", scene)
    if record is None:
        return "C"
    for row in getattr(project.store.load(record.name), "rows", []):
        if row.shot_id == shot_id:
            return str(row.hero_tier)
    return "C"


def failures_since_pass(project: Project, skill: str, shot_id: str) -> list[int]:
    """Log sequence numbers of failed attempts since the last PASS or override (newest first).

    Once QC grades a shot, its verdict is what counts: a render that produced a valid clip
    (the render's own PASS) is not an accepted take, and a QC FAIL or FIX is a failed attempt.
    """
    rows = project.store.conn.execute(
        "SELECT seq, outcome, skill_name FROM runlog WHERE skill_name IN (?, ?) AND target = ? AND "
        "event = 'run' AND outcome IN ('PASS', 'FAIL', 'FIX') ORDER BY seq DESC LIMIT 100",
        (skill, QC_GRADER, shot_id),
    ).fetchall()
    lifted = project.store.conn.execute(
        "SELECT coalesce(max(seq), 0) FROM runlog WHERE event = 'override' AND target = ?",
        (shot_id,),
    ).fetchone()[0]
    graded = any(name == QC_GRADER for _, _, name in rows)
    failed = []
    for seq, outcome, name in rows:
        if seq <= lifted:  # a human override restarts the count
            break
        if outcome == "PASS":
            if name == QC_GRADER or not graded:
                break
            continue
        failed.append(int(seq))
    return failed


def analyzer_ran_after(project: Project, seq: int) -> bool:
    """True when regen-analyzer has a run logged after log row ``seq``."""
    row = project.store.conn.execute(
        "SELECT 1 FROM runlog WHERE skill_name = ? AND event = 'run' AND outcome = 'PASS' "
        "AND seq > ? LIMIT 1",
        (ANALYZER, seq),
    ).fetchone()
    return row is not None


def check_regen(project: Project, skill: str, shot_id: str) -> None:
    """Refuse another attempt past the analyzer point or the hero tier's limit."""
    failed = failures_since_pass(project, skill, shot_id)
    regen = project.config.regen
    hero = hero_tier_of(project, shot_id)
    limit = regen.limit(hero)  # type: ignore[arg-type]
    if len(failed) >= limit:
        raise HardStop(
            f"{shot_id} (hero {hero}) has failed {len(failed)} attempt(s), the limit for hero "
            f"tier {hero} is {limit}: run regen-analyzer, then simplify the shot or justify a "
            f"tier escalation with `slate override {shot_id} --reason ... --cost-impact ...`",
            kind="regen_limit",
            target=shot_id,
            hero=hero,
        )
    if len(failed) >= regen.analyzer_after_failures:
        mandatory_after = failed[len(failed) - regen.analyzer_after_failures]
        if not analyzer_ran_after(project, mandatory_after):
            raise AnalyzerRequired(
                f"{shot_id} failed {len(failed)} attempts: regen-analyzer must run before the "
                "next regeneration (`slate run regen-analyzer --shot " + shot_id + "`)",
                kind="regen_analyzer",
                target=shot_id,
            )
