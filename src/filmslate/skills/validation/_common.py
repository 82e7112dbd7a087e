"""Validation skills (SPEC §5): research-agent, plausibility-auditor, cultural-check,
narrative-red-team (full pass, plus a light pass) and audience-simulator.

Each skill asks its tier's model for a structured answer (an ``...Answer`` model: every field
of its artifact plus the flags its gate needs), turns the answer into the artifact, and judges
it in code: the model's opinion feeds the gate, it never is the gate. An answer that cannot
become a valid artifact is refused at validation time, so the provider re-asks and then fails
clearly, before anything is written.

Per-scene skills render only the scene's own row, its truth packet, the locks of the
characters in it and the world state before it: the prompt for scene 300 is no larger than
for scene 3. Project-level reviews (red team, audience) read the whole story by nature.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ...core._errors import NotApplicable, UserError
from ...core._gate import Gate
from ...core._names import lock_subject
from ...engine._skill import REGISTRY, Context, Need, Skill
from ...schemas import (
    Artifact,
    Audience,
    Claim,
    Culture,
    PersonaReactions,
    Plausibility,
    RedTeam,
    SceneRow,
    Truth,
    WorldState,
    culture_applies,
)
from ...schemas._types import Item, Level, Paragraphs, Score0to2, Score1to5, Text

ANSWER_KEY = "answer"  # where produce() leaves the model's answer for gate()
SCRIPT = Need("SCRIPT", "scene", optional=True)  # the scene's screenplay text, when imported


class _Answer(BaseModel):
    """A model's structured answer; extra keys are refused so typos surface as errors."""

    model_config = ConfigDict(extra="forbid")
    PLACEHOLDER: ClassVar[str] = "S01"

    def to_artifact(self, subject: str) -> Artifact:
        """The artifact this answer becomes for ``subject``."""
        raise NotImplementedError

    @model_validator(mode="after")
    def _fits_its_artifact(self) -> Self:
        # Build the artifact once while validating, so an answer whose text the artifact
        # file could not carry (a heading-like line, the '(none)' marker) is re-asked.
        try:
            self.to_artifact(self.PLACEHOLDER)
        except ValidationError as exc:
            problems = "; ".join(str(e["msg"]) for e in exc.errors())
            raise ValueError(f"the answer cannot be written as an artifact: {problems}") from None
        return self


# -- answers ----------------------------------------------------------------------------------


class ResearchAnswer(_Answer):
    """research-agent's answer: the truth packet plus the failures it found."""

    claims: list[Claim] = Field(description="every factual claim the scene makes or implies")
    terminology_corrections: list[Item] = Field(default_factory=list)
    realism_risk: Level
    creative_allowances: list[Item] = Field(default_factory=list)
    contradictions: list[Item] = Field(
        default_factory=list, description="statements that contradict reality with no "
                                          "creative license covering them")
    impossible_procedures: list[Item] = Field(
        default_factory=list, description="critical procedures that cannot work as written")
    cultural_context: bool = Field(
        description="true only when a real culture, period or community is central")
    cultural_context_note: Text = Field("", description="which one, and how it matters")

    def to_artifact(self, subject: str) -> Truth:
        """The TRUTH packet."""
        note = self.cultural_context_note or "(unnamed)"
        return Truth(scene_id=subject, claims=self.claims,
                     terminology_corrections=self.terminology_corrections,
                     realism_risk=self.realism_risk, creative_allowances=self.creative_allowances,
                     cultural_context=note if self.cultural_context else None)


class PlausibilityAnswer(_Answer):
    """plausibility-auditor's answer: five scores and the conflicts found."""

    procedural: Score0to2
    physical: Score0to2
    emotional: Score0to2
    logistical: Score0to2
    internal_consistency: Score0to2
    total: int | None = Field(None, description="ignored: the total is computed in code")
    weak_points: list[Item] = Field(default_factory=list)
    adjustments: list[Item] = Field(default_factory=list)
    internal_consistency_conflicts: list[Item] = Field(
        default_factory=list, description="contradictions with the world state, the locks or "
                                          "the truth packet")
    logistical_impossibilities: list[Item] = Field(
        default_factory=list, description="things that cannot happen as written")

    def scores(self) -> dict[str, int]:
        """The five category scores by name."""
        return {"procedural": self.procedural, "physical": self.physical,
                "emotional": self.emotional, "logistical": self.logistical,
                "internal_consistency": self.internal_consistency}

    def to_artifact(self, subject: str) -> Plausibility:
        """The PLAUS report; the flags are kept as labelled weak points."""
        flagged = ([f"internal consistency conflict: {c}"
                    for c in self.internal_consistency_conflicts]
                   + [f"logistical impossibility: {c}" for c in self.logistical_impossibilities])
        return Plausibility(scene_id=subject, **self.scores(), total=sum(self.scores().values()),
                            weak_points=[*self.weak_points, *flagged],
                            adjustments=self.adjustments)


class CultureAnswer(_Answer):
    """cultural-check's answer: the five assessments, a score and the failures found."""

    cultural_accuracy: Paragraphs
    dialect_language: Paragraphs
    historical_alignment: Paragraphs
    social_norms: Paragraphs
    stereotype_risk: Paragraphs
    authenticity_score: Annotated[int, Field(ge=0, le=5)]
    adjustments: list[Item] = Field(default_factory=list)
    harmful_misrepresentations: list[Item] = Field(default_factory=list)
    major_historical_inaccuracies: list[Item] = Field(default_factory=list)
    wrong_dialect: list[Item] = Field(default_factory=list,
                                      description="dialect or language that is clearly wrong")
    claims_presented_as_fact: list[int] = Field(
        default_factory=list, description="numbers of the truth-packet claims the scene "
                                          "presents as true")

    def to_artifact(self, subject: str) -> Culture:
        """The CULTURE report; failures are kept as labelled adjustments."""
        flagged = ([f"harmful misrepresentation: {x}" for x in self.harmful_misrepresentations]
                   + [f"historical inaccuracy: {x}" for x in self.major_historical_inaccuracies]
                   + [f"wrong dialect: {x}" for x in self.wrong_dialect])
        return Culture(scene_id=subject, cultural_accuracy=self.cultural_accuracy,
                       dialect_language=self.dialect_language,
                       historical_alignment=self.historical_alignment,
                       social_norms=self.social_norms, stereotype_risk=self.stereotype_risk,
                       authenticity_score=self.authenticity_score,
                       adjustments=[*flagged, *self.adjustments])


FailureKind = Literal["major plot hole", "central coincidence", "stakes collapse",
                      "antagonist incompetence", "unearned climax"]


class CriticalFailure(BaseModel):
    """A failure that sinks the story."""

    model_config = ConfigDict(extra="forbid")
    kind: FailureKind
    description: Item


class Coincidence(BaseModel):
    """A coincidence in the plot, and whether a central event rests on it."""

    model_config = ConfigDict(extra="forbid")
    event: Item
    central: bool = Field(description="true when a central event depends on it")


class RedTeamAnswer(_Answer):
    """narrative-red-team's answer."""

    PLACEHOLDER: ClassVar[str] = "PROJECT"
    critical_failures: list[CriticalFailure] = Field(default_factory=list)
    hidden_weaknesses: list[Item] = Field(default_factory=list)
    coincidence_scan: list[Coincidence] = Field(default_factory=list)
    stakes_audit: Paragraphs
    tension_audit: Paragraphs
    thematic_consistency: Paragraphs
    fix_conservative: Paragraphs = Field(description="the smallest change that fixes the worst")
    fix_structural: Paragraphs = Field(description="the rebuild that fixes the cause")

    def to_artifact(self, subject: str) -> RedTeam:
        """The REDTEAM report."""
        return RedTeam(
            target=subject,
            critical_failures=[f"{f.kind}: {f.description}" for f in self.critical_failures],
            hidden_weaknesses=self.hidden_weaknesses,
            coincidence_scan=[f"{c.event} ({'central' if c.central else 'incidental'})"
                              for c in self.coincidence_scan],
            stakes_audit=self.stakes_audit, tension_audit=self.tension_audit,
            thematic_consistency=self.thematic_consistency,
            fix_conservative=self.fix_conservative, fix_structural=self.fix_structural)


class ConfusionPoint(BaseModel):
    """A moment that confuses viewers, and whether it damages the story."""

    model_config = ConfigDict(extra="forbid")
    description: Item
    impairs_story: bool = Field(description="true when viewers lose the story because of it")


class AudienceAnswer(_Answer):
    """audience-simulator's answer."""

    PLACEHOLDER: ClassVar[str] = "PROJECT"
    reactions: PersonaReactions
    confusion_points: list[ConfusionPoint] = Field(default_factory=list)
    engagement_dips: list[Item] = Field(default_factory=list)
    emotional_peaks: list[Item] = Field(default_factory=list)
    predictability: Score1to5
    clarity: Score1to5
    engagement: Score1to5
    adjustments: list[Item] = Field(default_factory=list)
    stakes_clear_after_act_one: bool
    genre_mismatch: list[Item] = Field(
        default_factory=list, description="ways the story breaks the promise of its genre")

    def to_artifact(self, subject: str) -> Audience:
        """The AUDIENCE report."""
        return Audience(
            target=subject, reactions=self.reactions,
            confusion_points=[f"{c.description}{' (impairs the story)' if c.impairs_story else ''}"
                              for c in self.confusion_points],
            engagement_dips=self.engagement_dips, emotional_peaks=self.emotional_peaks,
            predictability=self.predictability, clarity=self.clarity,
            engagement=self.engagement,
            adjustments=[*(f"genre mismatch: {g}" for g in self.genre_mismatch),
                         *self.adjustments])


# -- rendering the declared inputs compactly -------------------------------------------------


def scene_row(ctx: Context) -> SceneRow:
    """The target scene's row of SCENES."""
    for row in ctx.inputs.get("SCENES").rows:
        if row.scene_id == ctx.scene_id:
            return row  # type: ignore[no-any-return]
    raise UserError(f"{ctx.scene_id} is not in SCENES: pick a scene the scene list has, or "
                    "revise SCENES first", scene=ctx.scene_id)


def render_scene(row: SceneRow) -> str:
    """One scene as a short block."""
    return "\n".join([
        f"Scene {row.scene_id} at {row.location}, {row.time_of_day or 'time of day unstated'}",
        f"Characters: {', '.join(row.characters_present) or 'none'}",
        f"Summary: {row.summary}",
        f"Goal: {row.goal or '(unstated)'} | Conflict: {row.conflict or '(unstated)'} | "
        f"Outcome: {row.outcome or '(unstated)'}"])


def render_scene_line(row: SceneRow) -> str:
    """One scene as one line (for whole-story reviews)."""
    return (f"{row.scene_id} [{row.location}; {', '.join(row.characters_present) or 'nobody'}] "
            f"{row.summary} Goal: {row.goal or '?'} Conflict: {row.conflict or '?'} "
            f"Outcome: {row.outcome or '?'}")


def _joined(items: Iterable[str], empty: str = "none") -> str:
    return "; ".join(items) or empty


def render_char_locks(ctx: Context, cast: list[str]) -> str:
    """The behavioral baseline, knowledge and forbidden drift of each cast member's lock."""
    locks = {lock_subject(k): v for k, v in ctx.inputs.all("CHAR_LOCK").items()}
    lines = []
    for name in cast:
        lock = locks.get(name)
        if lock is None:
            lines.append(f"- {name}: no character lock yet")
            continue
        b = lock.behavior
        lines.append(f"- {name}: temperament {b.temperament}; decides {b.decision_style}; under "
                     f"stress {b.stress_behavior}; speaks {b.speech_patterns}; knows at "
                     f"introduction: {_joined(lock.knowledge_at_introduction)}; must never: "
                     f"{_joined(lock.forbidden_drift)}")
    return "\n".join(lines) or "- nobody on screen"


def render_voice_locks(ctx: Context, cast: list[str]) -> str:
    """Accent and speech constraints of each cast member's voice lock."""
    locks = {lock_subject(k): v for k, v in ctx.inputs.all("VOICE_LOCK").items()}
    lines = []
    for name in cast:
        lock = locks.get(name)
        if lock is not None:
            a, c = lock.accent, lock.constraints
            lines.append(f"- {name}: accent {a.region} ({a.strength}), vocabulary {a.vocabulary}, "
                         f"slang {a.slang_level}; vocabulary level {c.vocabulary_level}")
    return "\n".join(lines) or "- no voice locks for this cast"


def render_script(ctx: Context) -> str:
    """The scene's screenplay text when it was imported, else ''."""
    script = ctx.inputs.get("SCRIPT")
    return f"\n\nSCRIPT\n{script.text}" if script is not None else ""


def render_world(ctx: Context, row: SceneRow) -> str:
    """The world before the scene, limited to its cast, its location and the rules."""
    state: WorldState | None = ctx.inputs.get("WORLD_STATE")
    if state is None:
        return "No world state recorded yet: this scene opens the tracked story."
    order = [r.scene_id for r in ctx.inputs.get("SCENES").rows]
    current = state.timeline.current_scene
    if current in order and order.index(current) >= order.index(row.scene_id):
        # Only the latest state is on record and it already includes this scene: showing
        # it as "before" would invent conflicts, so the check rests on the locks and truth.
        return (f"The world state on record is after {current}, not before this scene: "
                "judge consistency from the locks and the truth packet.")
    cast, location = [lock_subject(c) for c in row.characters_present], row.location
    t = state.timeline
    lines = [f"State after {t.current_scene or 'nothing (initial state)'}; elapsed time "
             f"{t.elapsed_time or 'unknown'}"]
    people = {lock_subject(k): v for k, v in state.characters.items()}
    for name in cast:
        c = people.get(name)
        if c is not None:
            lines.append(f"- {name}: at {c.location or '?'}, feeling {c.emotional_state or '?'}; "
                         f"injuries {_joined(c.injuries)}; knows {_joined(c.knowledge)}; "
                         f"carries {_joined(c.inventory)}")
    place = {lock_subject(k): v for k, v in state.locations.items()}.get(lock_subject(location))
    if place is not None:
        lines.append(f"- {location}: {place.condition or 'condition unknown'}; light "
                     f"{place.lighting_state or 'unknown'}; {place.notes}".rstrip("; "))
    for prop, p in state.props.items():
        if lock_subject(p.owner) in cast or lock_subject(p.location) == lock_subject(location):
            lines.append(f"- prop {prop}: owner {p.owner or 'none'}, at {p.location or '?'}, "
                         f"{p.status or 'status unknown'}")
    rules = [*state.rules.fictional_constraints, *state.rules.modified_rules]
    lines.append(f"Rules of this world: {_joined(rules)}")
    return "\n".join(lines)


def render_truth(truth: Truth) -> str:
    """The truth packet with numbered claims."""
    lines = [f"Realism risk: {truth.realism_risk}"]
    for number, c in enumerate(truth.claims, start=1):
        source = f"source: {c.citation}" if c.citation else ""
        license_ = f"license: {c.creative_license_note}" if c.creative_license_note else ""
        lines.append(f"{number}. [{c.status}] {c.claim} "
                     f"({_joined([s for s in (source, license_) if s], 'no source')})")
    lines.append(f"Terminology corrections: {_joined(truth.terminology_corrections)}")
    lines.append(f"Creative allowances: {_joined(truth.creative_allowances)}")
    lines.append(f"Cultural context: {truth.cultural_context or 'none'}")
    return "\n".join(lines)


def revision_note(ctx: Context) -> str:
    """On a revision: the reasons the previous answer failed its gate.

    An auditor must not learn to pass by softening its verdict, so the note separates what
    the answer can fix (its own gaps) from findings about the work, which stand until the
    work itself is revised.
    """
    if not ctx.feedback:
        return ""
    return ("\n\nREVISION: your previous answer failed these checks:\n"
            + "\n".join(f"- {reason}" for reason in ctx.feedback)
            + "\nCorrect what was wrong in your answer itself (a missing source, an empty "
              "section, an unnamed flag). Re-examine every finding about the scene or story: "
              "keep it if it is real, withdraw it only if you were wrong. Never raise a score "
              "just to pass.")


# -- the skills -------------------------------------------------------------------------------


class _AnsweringSkill(Skill):
    """A skill that asks for one answer, turns it into one artifact and gates both."""

    answer_type: ClassVar[type[_Answer]]
    system: ClassVar[str]

    def prompt(self, ctx: Context) -> str:
        """The rendered inputs (the system text carries role, process and checklist)."""
        raise NotImplementedError

    def subject(self, ctx: Context) -> str:
        """The artifact's subject: the scene for per-scene skills, else the target."""
        return ctx.scene_id if self.target_scope == "scene" else ctx.target

    def produce(self, ctx: Context) -> list[Any]:
        """Ask, remember the answer for the gate, return the artifact."""
        answer = ctx.ask(self.answer_type, self.system, self.prompt(ctx) + revision_note(ctx))
        ctx.params[ANSWER_KEY] = answer
        return [answer.to_artifact(self.subject(ctx))]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL with every reason found in the artifact and the answer's flags."""
        return Gate.from_failures(self.failures(outputs[0], ctx.params[ANSWER_KEY], ctx))

    def failures(self, artifact: Any, answer: Any, ctx: Context) -> list[str]:
        """The gate's reasons (empty = PASS)."""
        raise NotImplementedError


RESEARCH_SYSTEM = """\
You are the research desk of a film production. Before a scene is shot you check what it
says about the real world, so that the film is right where it means to be right and departs
from reality only on purpose.

How to work:
1. Read the scene and list every factual claim it makes or takes for granted: places, dates,
   institutions, jobs and procedures, equipment, science, law, customs, jargon.
2. Give each claim a status. Verified: you can name the source (publication, standard,
   archive, official body) in its citation. Disputed: sources disagree, or reality differs from
   the scene; cite what disputes it. Creative License: the story departs from reality on
   purpose; say in its creative-license note what changes and why an audience will accept it.
3. Write terminology corrections for every domain term the scene gets wrong.
4. Rate the realism risk (low, medium, high): how likely an informed viewer is to be pulled
   out of the story.
5. Write the creative allowances the production accepts, and how the scene signals them.
6. Say whether a real culture, period or community is central to the scene, and which.

Checklist before you answer:
- every claim has a status; Verified and Disputed claims have a citation, Creative License
  claims have a note;
- every Disputed claim is settled by its own license note, a terminology correction or a
  creative allowance;
- a high realism risk is answered by at least one creative allowance or correction;
- statements that contradict reality with no license go in contradictions; procedures that
  cannot work as written go in impossible_procedures;
- cultural_context is true only when a real culture, period or community is central."""


class ResearchAgent(_AnsweringSkill):
    """Fact-checks one scene into a truth packet with a status and source for every claim."""

    name: ClassVar[str] = "research-agent"
    layer: ClassVar[Any] = "validation"
    tier: ClassVar[Any] = "research"
    loop: ClassVar[str] = "validation"
    needs: ClassVar[tuple[Need, ...]] = (Need("SCENES"), SCRIPT, Need("PREMISE", optional=True))
    produces: ClassVar[tuple[str, ...]] = ("TRUTH",)
    target_scope: ClassVar[Any] = "scene"
    summary: ClassVar[str] = "truth packet: every claim Verified / Disputed / Creative License"
    answer_type: ClassVar[type[_Answer]] = ResearchAnswer
    system: ClassVar[str] = RESEARCH_SYSTEM

    def prompt(self, ctx: Context) -> str:
        """The premise's frame (genre, logline) and the scene."""
        premise = ctx.inputs.get("PREMISE")
        frame = (f"Film: {premise.title} ({premise.genre}, {premise.tone}). {premise.logline}"
                 if premise is not None else "Film: no premise recorded.")
        return f"{frame}\n\nSCENE\n{render_scene(scene_row(ctx))}{render_script(ctx)}"

    def failures(self, artifact: Truth, answer: ResearchAnswer, ctx: Context) -> list[str]:
        """Claims without support, unsettled disputes, unaddressed risk, flagged errors."""
        out = [problem for number, claim in enumerate(artifact.claims, start=1)
               if (problem := _claim_problem(number, claim))]
        if not artifact.claims:
            out.append("the packet lists no claims: name at least the setting and every "
                       "procedure or fact the scene relies on")
        remedies = artifact.terminology_corrections or artifact.creative_allowances
        for number, claim in enumerate(artifact.claims, start=1):
            if claim.status == "Disputed" and not (claim.creative_license_note or remedies):
                out.append(f"claim {number} ({claim.claim}) is Disputed but no terminology "
                           "correction or creative allowance settles it")
        if artifact.realism_risk == "high" and not remedies:
            out.append("realism risk is high and no creative allowance or correction "
                       "addresses it")
        out += [f"contradicts reality: {c}" for c in answer.contradictions]
        out += [f"impossible procedure: {p}" for p in answer.impossible_procedures]
        if answer.cultural_context and not answer.cultural_context_note:
            out.append("cultural context is flagged but not named: say which culture, period "
                       "or community")
        return out


def _claim_problem(number: int, claim: Claim) -> str:
    """Why a claim lacks the support its status needs ('' when it has it)."""
    if not (claim.citation or claim.creative_license_note):
        return f"claim {number} ({claim.claim}) has neither a citation nor a creative-license note"
    if claim.status == "Verified" and not claim.citation:
        return f"claim {number} ({claim.claim}) is marked Verified without a citation"
    if claim.status == "Creative License" and not claim.creative_license_note:
        return f"claim {number} ({claim.claim}) is marked Creative License without a note"
    return ""


PLAUSIBILITY_SYSTEM = """\
You audit plausibility for a film: could this scene happen as written, given what the story
has already established? You judge belief, not taste.

How to work:
1. Read the scene, its truth packet, the locked baselines of the characters in it and the
   state of the world just before it.
2. Score each category 0, 1 or 2 (0 breaks belief, 1 strains it, 2 holds):
   procedural (institutions, jobs, procedures), physical (bodies, objects, distance, time,
   physics), emotional (reactions that fit who these people are and what they have been
   through), logistical (people and things can be where the scene needs them, when),
   internal consistency (agreement with the world state, the locks and the truth packet).
3. Name the weak points behind every score below 2, and a concrete adjustment for each.

Checklist before you answer:
- any contradiction with the world state, a lock or the truth packet is listed in
  internal_consistency_conflicts;
- anything that cannot physically or practically happen as written is listed in
  logistical_impossibilities;
- do not add the scores up: the total is computed for you."""


class PlausibilityAuditor(_AnsweringSkill):
    """Scores one scene's plausibility in five categories; the total is computed in code."""

    name: ClassVar[str] = "plausibility-auditor"
    layer: ClassVar[Any] = "validation"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "validation"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SCENES"), SCRIPT, Need("TRUTH", "scene"), Need("CHAR_LOCK", "cast", optional=True),
        Need("WORLD_STATE", optional=True))
    produces: ClassVar[tuple[str, ...]] = ("PLAUS",)
    target_scope: ClassVar[Any] = "scene"
    summary: ClassVar[str] = "five 0-2 plausibility scores; total from code vs threshold"
    answer_type: ClassVar[type[_Answer]] = PlausibilityAnswer
    system: ClassVar[str] = PLAUSIBILITY_SYSTEM

    def prompt(self, ctx: Context) -> str:
        """Scene, truth packet, the cast's locks, the world before the scene."""
        row = scene_row(ctx)
        cast = [lock_subject(c) for c in row.characters_present]
        return (f"SCENE\n{render_scene(row)}\n\nTRUTH PACKET\n"
                f"{render_truth(ctx.inputs.get('TRUTH'))}\n\nCHARACTER LOCKS\n"
                f"{render_char_locks(ctx, cast)}\n\nWORLD BEFORE THE SCENE\n"
                f"{render_world(ctx, row)}{render_script(ctx)}")

    def failures(self, artifact: Plausibility, answer: PlausibilityAnswer,
                 ctx: Context) -> list[str]:
        """Any zero, a total under the threshold, conflicts and impossibilities."""
        out = [f"{name.replace('_', ' ')} scores 0" for name, score in answer.scores().items()
               if score == 0]
        threshold = ctx.config.thresholds.plausibility_total
        if artifact.total < threshold:
            out.append(f"total {artifact.total} of 10 is below the threshold {threshold}")
        out += [f"internal consistency conflict: {c}"
                for c in answer.internal_consistency_conflicts]
        out += [f"logistical impossibility: {c}" for c in answer.logistical_impossibilities]
        return out


CULTURE_SYSTEM = """\
You are the cultural consultant of a film. This scene involves a real culture, period or
community; your job is to make sure the people who belong to it would recognise themselves
and not be wronged.

How to work:
1. Read the scene, the truth packet (its claims are numbered) and the voice and character
   locks of the people in it.
2. Assess cultural accuracy, dialect and language, historical alignment, social norms and
   stereotype risk, each in a few sentences.
3. Score authenticity from 0 (false or harmful) to 5 (a member of the community would find
   nothing to correct), and list adjustments.

Checklist before you answer:
- harmful misrepresentations, major historical inaccuracies and clearly wrong dialect are
  each listed in their own field, one item each;
- claims_presented_as_fact lists the numbers of the truth-packet claims that the scene
  presents as true (whatever their status);
- every score below 5 is explained by at least one adjustment."""


class CulturalCheck(_AnsweringSkill):
    """Checks a scene's treatment of a real culture, period or community (when it has one)."""

    name: ClassVar[str] = "cultural-check"
    layer: ClassVar[Any] = "validation"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "validation"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SCENES"), SCRIPT, Need("TRUTH", "scene"), Need("CHAR_LOCK", "cast", optional=True),
        Need("VOICE_LOCK", "all", optional=True))
    produces: ClassVar[tuple[str, ...]] = ("CULTURE",)
    target_scope: ClassVar[Any] = "scene"
    summary: ClassVar[str] = "authenticity 0-5 for scenes whose TRUTH names a real culture"
    answer_type: ClassVar[type[_Answer]] = CultureAnswer
    system: ClassVar[str] = CULTURE_SYSTEM

    def produce(self, ctx: Context) -> list[Any]:
        """Refuse before asking anything when the truth packet records no cultural context."""
        if not culture_applies(ctx.inputs.get("TRUTH")):
            raise NotApplicable(
                f"cultural-check does not apply to {ctx.scene_id}: its truth packet records no "
                "real culture, period or community. Nothing was asked or written; if the "
                "scene does involve one, revise the truth packet (run research-agent again "
                "or add a TRUTH version by hand).", scene=ctx.scene_id, skill=self.name)
        return super().produce(ctx)

    def prompt(self, ctx: Context) -> str:
        """Scene, truth packet and the cast's voice and character locks."""
        row = scene_row(ctx)
        cast = [lock_subject(c) for c in row.characters_present]
        return (f"SCENE\n{render_scene(row)}\n\nTRUTH PACKET\n"
                f"{render_truth(ctx.inputs.get('TRUTH'))}\n\nVOICES\n"
                f"{render_voice_locks(ctx, cast)}\n\nCHARACTERS\n{render_char_locks(ctx, cast)}"
                f"{render_script(ctx)}")

    def failures(self, artifact: Culture, answer: CultureAnswer, ctx: Context) -> list[str]:
        """Score under the threshold, flagged harms, and disputed claims shown as fact."""
        out = [f"section {label} is empty" for label, text in (
            ("cultural accuracy", artifact.cultural_accuracy),
            ("dialect / language", artifact.dialect_language),
            ("historical alignment", artifact.historical_alignment),
            ("social norms", artifact.social_norms),
            ("stereotype risk", artifact.stereotype_risk)) if not text]
        threshold = ctx.config.thresholds.culture_authenticity
        if artifact.authenticity_score < threshold:
            out.append(f"authenticity {artifact.authenticity_score} of 5 is below the "
                       f"threshold {threshold}")
        out += [f"harmful misrepresentation: {x}" for x in answer.harmful_misrepresentations]
        out += [f"major historical inaccuracy: {x}" for x in answer.major_historical_inaccuracies]
        out += [f"clearly wrong dialect: {x}" for x in answer.wrong_dialect]
        return out + truth_contradictions(ctx.inputs.get("TRUTH"), answer.claims_presented_as_fact)


def truth_contradictions(truth: Truth, presented: list[int]) -> list[str]:
    """Disputed claims the scene presents as fact, unless the packet licensed them."""
    out = []
    for number in sorted(set(presented)):
        if not 1 <= number <= len(truth.claims):
            out.append(f"claim {number} presented as fact does not exist in the truth packet "
                       f"(it has {len(truth.claims)} claims)")
            continue
        claim = truth.claims[number - 1]
        if claim.status == "Disputed" and not claim.creative_license_note:
            out.append(f"contradicts the truth packet: claim {number} ({claim.claim}) is "
                       "Disputed but the scene presents it as fact")
    return out


REDTEAM_SYSTEM = """\
You are the red team of a story. Your job is to break it before an audience does: find
what does not hold, say why, and offer two ways to fix it.

How to work:
1. Read the beats and the scene list (and the world state and locks when given).
2. Look for critical failures: a major plot hole, a central event that rests on coincidence,
   stakes that collapse, a resolution driven by the antagonist's incompetence, an unearned
   climax. Record each under its kind.
3. List hidden weaknesses: things that hold today but will crack under scrutiny.
4. Scan every coincidence; mark it central when a central event depends on it.
5. Audit the stakes (do they rise, and stay real?), the tension (where it sags) and the
   thematic consistency (does every act argue the same question?).
6. Offer two fix options for the worst problems: a conservative one (the smallest change)
   and a structural one (rebuild the cause). They must be different.

Checklist before you answer:
- every section is filled; a red team that finds no weakness has not looked;
- each critical failure has one of the five kinds;
- the conservative and the structural fix are both concrete and not the same."""

LIGHT_NOTE = """

This is a light pass: spend your effort on critical failures and central coincidences; keep
the audits short. A full pass at a stronger tier comes before production."""


class NarrativeRedTeam(_AnsweringSkill):
    """Attacks the story (PROJECT, an act, an episode or a scene) at the premium tier."""

    name: ClassVar[str] = "narrative-red-team"
    layer: ClassVar[Any] = "validation"
    tier: ClassVar[Any] = "premium"
    loop: ClassVar[str] = "narrative"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("BEATS"), Need("SCENES"), Need("WORLD_STATE", optional=True),
        Need("CHAR_LOCK", "all", optional=True))
    produces: ClassVar[tuple[str, ...]] = ("REDTEAM",)
    target_scope: ClassVar[Any] = "target"
    summary: ClassVar[str] = "red team (Tier 3): failures, audits, conservative + structural fix"
    answer_type: ClassVar[type[_Answer]] = RedTeamAnswer
    system: ClassVar[str] = REDTEAM_SYSTEM

    def prompt(self, ctx: Context) -> str:
        """Beats, the target's scenes, and the world state and lock names when present."""
        parts = [render_story(ctx)]
        state = ctx.inputs.get("WORLD_STATE")
        if state is not None:
            parts.append(f"WORLD STATE (after {state.timeline.current_scene or 'nothing'})\n"
                         f"Rules: {_joined(state.rules.fictional_constraints)}")
        locks = ctx.inputs.all("CHAR_LOCK")
        if locks:
            parts.append("LOCKED CHARACTERS\n" + "\n".join(
                f"- {name}: {lock.behavior.temperament}; {lock.behavior.decision_style}"
                for name, lock in sorted(locks.items())))
        return "\n\n".join(parts)

    def failures(self, artifact: RedTeam, answer: RedTeamAnswer, ctx: Context) -> list[str]:
        """Empty sections, missing or identical fixes, critical failures, central coincidences."""
        out = [f"section {label} is empty" for label, text in (
            ("stakes audit", answer.stakes_audit), ("tension audit", answer.tension_audit),
            ("thematic consistency", answer.thematic_consistency),
            ("fix option: conservative", answer.fix_conservative),
            ("fix option: structural", answer.fix_structural)) if not text]
        if not answer.hidden_weaknesses:
            out.append("section hidden weaknesses is empty: a red team that finds nothing has "
                       "not looked")
        if answer.fix_conservative and _same(answer.fix_conservative, answer.fix_structural):
            out.append("the conservative and structural fix options are the same: offer two "
                       "different fixes")
        out += [f"{f.kind}: {f.description}" for f in answer.critical_failures]
        out += [f"central event rests on coincidence: {c.event}"
                for c in answer.coincidence_scan if c.central]
        return out


class NarrativeRedTeamLight(NarrativeRedTeam):
    """The Tier 2 light pass of the red team: same checks, cheaper model, shorter audits."""

    name: ClassVar[str] = "narrative-red-team-light"
    tier: ClassVar[Any] = "judgment"
    summary: ClassVar[str] = "red team light pass (Tier 2); production needs the full pass"
    system: ClassVar[str] = REDTEAM_SYSTEM + LIGHT_NOTE


def _same(a: str, b: str) -> bool:
    return " ".join(a.lower().split()) == " ".join(b.lower().split())


def render_story(ctx: Context) -> str:
    """Beats and the target's scene lines (one scene for a scene target, else all)."""
    beats = ctx.inputs.get("BEATS")
    rows = ctx.inputs.get("SCENES").rows
    if ctx.scene_id:
        rows = [scene_row(ctx)]
    focus = (f"Review target: {ctx.target}" + (" (judge this act within the whole story)"
                                               if ctx.target.startswith("ACT_") else ""))
    return "\n".join([
        focus, "", "BEATS", f"Logline: {beats.logline}",
        f"Central dramatic question: {beats.central_dramatic_question}",
        f"Inciting incident: {beats.inciting_incident}",
        f"Escalation: {_joined(beats.escalation_sequence)}",
        f"Midpoint shift: {beats.midpoint_shift}", f"Crisis: {beats.crisis}",
        f"Climax: {beats.climax}", f"Resolution: {beats.resolution}", "", "SCENES",
        *(render_scene_line(r) for r in rows)])


AUDIENCE_SYSTEM = """\
You simulate the first audience of a film. Watch the story through three people and
report honestly what each of them feels, where they get lost and where they drift away.

The three viewers:
- mainstream viewer: watches for story and feeling, has no patience for homework;
- genre fan: knows every convention of this genre and notices when the promise is broken;
- critical viewer: watches for craft, theme and originality.

How to work:
1. Read the premise (genre and tone are the promise), the beats and the scenes.
2. Give each viewer's reaction in a few sentences.
3. List confusion points (mark those that make viewers lose the story), engagement dips and
   emotional peaks.
4. Score predictability, clarity and engagement from 1 to 5, and list adjustments.

Checklist before you answer:
- all three reactions are written;
- stakes_clear_after_act_one says whether a viewer knows what is at risk by the end of act one;
- every way the story breaks the promise of its stated genre is listed in genre_mismatch."""


class AudienceSimulator(_AnsweringSkill):
    """Three personas watch the target; clarity, engagement and stakes are gated in code."""

    name: ClassVar[str] = "audience-simulator"
    layer: ClassVar[Any] = "validation"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "narrative"
    needs: ClassVar[tuple[Need, ...]] = (Need("BEATS"), Need("SCENES"),
                                         Need("PREMISE", optional=True))
    produces: ClassVar[tuple[str, ...]] = ("AUDIENCE",)
    target_scope: ClassVar[Any] = "target"
    summary: ClassVar[str] = "three personas; FAIL on low clarity/engagement, unclear stakes"
    answer_type: ClassVar[type[_Answer]] = AudienceAnswer
    system: ClassVar[str] = AUDIENCE_SYSTEM

    def prompt(self, ctx: Context) -> str:
        """The promise (premise) and the story."""
        premise = ctx.inputs.get("PREMISE")
        promise = (f"PROMISE\nGenre: {premise.genre}; tone: {premise.tone}; length: "
                   f"{premise.length}. {premise.logline}" if premise is not None
                   else "PROMISE\nNo premise recorded: infer the genre from the beats.")
        return f"{promise}\n\n{render_story(ctx)}"

    def failures(self, artifact: Audience, answer: AudienceAnswer, ctx: Context) -> list[str]:
        """Missing personas, low scores, unclear stakes, story-breaking confusion, genre."""
        r = answer.reactions
        out = [f"the {persona} reaction is missing" for persona, text in (
            ("mainstream viewer", r.mainstream_viewer), ("genre fan", r.genre_fan),
            ("critical viewer", r.critical_viewer)) if not text]
        limits = ctx.config.thresholds
        if answer.clarity < limits.audience_clarity:
            out.append(f"clarity {answer.clarity} is below {limits.audience_clarity}")
        if answer.engagement < limits.audience_engagement:
            out.append(f"engagement {answer.engagement} is below {limits.audience_engagement}")
        if not answer.stakes_clear_after_act_one:
            out.append("the stakes are unclear after act one")
        out += [f"confusion impairs the story: {c.description}"
                for c in answer.confusion_points if c.impairs_story]
        return out + [f"genre mismatch: {g}" for g in answer.genre_mismatch]


SKILLS: tuple[type[Skill], ...] = (ResearchAgent, PlausibilityAuditor, CulturalCheck,
                                   NarrativeRedTeam, NarrativeRedTeamLight, AudienceSimulator)

for _skill in SKILLS:
    REGISTRY.register(_skill)
