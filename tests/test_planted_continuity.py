"""Issue 16 §6: our own planted continuity errors and tricky-but-valid controls, run through
the continuity supervisor's code path; recall and precision per category and overall must be
at least 95%. ``pytest -s`` prints the table. The cases are data: tests/planted/*.json."""

from __future__ import annotations

from collections import defaultdict

import pytest

from planted_cases import Outcome, load_cases, run_case

CASES = load_cases()
CATEGORIES = ("prop", "injury", "knowledge", "place", "time", "wardrobe", "lighting")
FLOOR = 0.95


def _rates(outcomes: list[Outcome]) -> tuple[float, float, int, int]:
    planted = [o for o in outcomes if o.planted]
    caught = sum(o.flagged for o in planted)
    alarms = sum(o.flagged for o in outcomes if not o.planted)
    recall = caught / len(planted) if planted else 1.0
    precision = caught / (caught + alarms) if caught + alarms else 1.0
    return recall, precision, len(planted), len(outcomes) - len(planted)


def test_the_set_is_big_enough() -> None:
    by_category: dict[str, list[bool]] = defaultdict(list)
    for category, case in CASES:
        by_category[category].append(bool(case.get("expect")))
    assert len(CASES) >= 40
    assert set(by_category) == set(CATEGORIES)
    for category, kinds in by_category.items():
        assert len(kinds) >= 5, category
        assert 0 < sum(kinds) < len(kinds), f"{category}: errors and controls both"
    assert len({case["id"] for _, case in CASES}) == len(CASES)


def test_recall_and_precision_per_category() -> None:
    outcomes = [run_case(category, case) for category, case in CASES]
    rows = {c: _rates([o for o in outcomes if o.category == c]) for c in CATEGORIES}
    rows["overall"] = _rates(outcomes)
    print("\ncategory    errors controls  recall  precision")
    for name, (recall, precision, errors, controls) in rows.items():
        print(f"{name:<11} {errors:>6} {controls:>8}  {recall:>6.0%}  {precision:>9.0%}")
    wrong = [
        f"{o.case}: {'missed' if o.planted else 'false alarm'}: "
        + "; ".join(f"{f.severity} {f.category}: {f.description}" for f in o.findings)
        for o in outcomes
        if o.flagged != o.planted
    ]
    for line in wrong:
        print("  ", line)
    low = {n: r for n, r in rows.items() if r[0] < FLOOR or r[1] < FLOOR}
    assert not low, f"below {FLOOR:.0%}: {low}; {wrong}"


@pytest.mark.parametrize(("category", "case"), CASES, ids=[c["id"] for _, c in CASES])
def test_each_case(category: str, case: dict[str, object]) -> None:
    outcome = run_case(category, case)
    assert outcome.flagged == outcome.planted, [
        f"{f.severity} {f.category} {f.scenes}: {f.description}" for f in outcome.findings
    ]
