"""The two ends of a video job the render service must not get wrong.

- **Settling an interrupted submission.** A process killed between recording a submission
  intent and recording the provider's job id leaves an intent row. Whether the job exists is
  the provider's to say: one that finds jobs by client reference is asked; an offline one
  (nothing billed outside this machine) is simply submitted again; for any other nobody can
  tell, so the hold is charged at its worst case (the ledger's rule for a call that may have
  been billed), the row is marked ``unknown`` and a hard stop names the job for a person to
  check. ``slate override`` on the shot lets the next run submit it again.
- **Fetching a clip that decodes.** A downloaded clip that ``rules._media.probe`` cannot
  decode is never handed on (so never stored as an artifact): the provider discards its local
  copy and it is fetched once more; still bad, the fetch fails and the paid job stays
  recorded, to be fetched again by the next run without paying again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any, NoReturn

from ..core._errors import ProviderError
from ..core._names import SHOT_RE
from ..rules._media import probe
from ..store._ledger import Ledger
from ..store._project import Project
from ._render_jobs import JobRow, JobTable, spend_entry
from ._stops import record_hard_stop
from ._video import Failure, VideoProvider
from ._video import JobProvider as _JobProviderBase

__all__ = ["JobProvider", "fetch_checked", "fetch_clip", "settle_intent", "undecodable"]

JobProvider = _JobProviderBase[Any]
"""Any kind of paid job's provider (video, image, speech): their shared base."""


def settle_intent(
    project: Project,
    ledger: Ledger,
    jobs: JobTable,
    row: JobRow,
    skill: str,
    provider_for: Callable[[str], JobProvider],
) -> JobRow | None:
    """The job an interrupted submission made (now recorded as submitted), or None when a
    fresh submission is safe; a stop when nobody can tell whether it was billed."""
    owner = jobs.hold_owner(row)
    if owner is not None and owner != os.getpid():
        raise ProviderError(
            f"{row.shot_id}: its {row.resolution} {jobs.noun} is being submitted by process "
            f"{owner}; wait for it",
            job=row.reference,
        )
    provider = provider_for(row.provider)
    if provider.finds_by_reference and row.reference:
        job_id = provider.find(row.reference)
        if job_id:
            found = replace(row, job_id=job_id, state="submitted")
            jobs.record(found)
            return found
        why = f"{provider.name} has no job with reference {row.reference}"
    elif provider.offline:
        why = f"{provider.name} renders on this machine: submitting again bills nothing"
    else:
        stop_unknown(project, ledger, jobs, row, provider, skill)
    hold = jobs.hold(row)
    if hold is not None:
        ledger.release(hold, f"interrupted submission of {row.shot_id}: {why}")
    jobs.delete(row)
    return None


def stop_unknown(
    project: Project,
    ledger: Ledger,
    jobs: JobTable,
    row: JobRow,
    provider: JobProvider,
    skill: str,
) -> NoReturn:
    """Charge the hold at worst case, mark the job unknown, and hard-stop the shot."""
    hold = jobs.hold(row)
    worst = hold.amount if hold is not None else 0.0
    if hold is not None:
        note = (
            f"submission of {row.shot_id} {row.resolution} interrupted before its job id was "
            f"recorded (reference {row.reference}); charged at worst case"
        )
        ledger.settle(hold, worst, spend_entry(hold, row, skill, note, outcome="UNKNOWN"))
    jobs.set_state(row, "unknown")
    message = (
        f"{row.shot_id}: its {row.resolution} {jobs.noun} on {row.provider} may have been "
        f"submitted (reference {row.reference}, at {row.created_at or 'an unknown time'}) by "
        f"a run that died before recording the job id, and {provider.name} cannot look a job up by "
        f"reference, so it is not submitted again blindly. Check {provider.history_hint} for "
        f"a request at that time (charged here at its worst case, {worst:.2f}); then "
        f"`slate override {stop_target(row.shot_id)} --reason ...` lets the next run submit it "
        "again"
    )
    record_hard_stop(project, stop_target(row.shot_id), "submission", message, skill)
    raise ProviderError(message, job=row.reference, target=row.shot_id)


def stop_target(key: str) -> str:
    """What a stop about a job blocks: its shot, else (a sheet) the whole project."""
    return key if SHOT_RE.fullmatch(key) else "PROJECT"


def fetch_checked(
    provider: JobProvider,
    row: JobRow,
    problem_of: Callable[[bytes], str],
    what: str,
    failure: Failure | None = "download",
    paid: bool = True,
) -> bytes:
    """A finished job's output, checked by ``problem_of`` ("" when good): a bad copy is
    discarded and fetched once more, then refused (never stored, never paid again)."""
    problem = ""
    for _ in range(2):
        data = provider.download(row.job_id)
        problem = problem_of(data)
        if not problem:
            return data
        provider.discard(row.job_id)
    tail = " (it is paid, and is not paid twice)" if paid else ""
    raise ProviderError(
        f"{row.shot_id}: the {what} of {row.provider} job {row.job_id} does not decode "
        f"({problem}), fetched twice; it is not stored. Run again to fetch it again{tail}",
        job_id=row.job_id,
        **({"failure": failure} if failure else {}),
    )


def fetch_clip(provider: VideoProvider, row: JobRow) -> bytes:
    """The job's clip, decodable: a bad copy is discarded and fetched once more."""
    return fetch_checked(provider, row, undecodable, "clip", failure=None)


def undecodable(data: bytes) -> str:
    """Why a clip cannot be decoded ("" when it can)."""
    try:
        info = probe(data)
    except (ProviderError, RuntimeError, OSError, ValueError) as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        return lines[-1][:200] if lines else type(exc).__name__
    return "" if info.frames else "no video frames"
