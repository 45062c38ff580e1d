"""The question bank: ``evals/cases/*.yaml`` loaded into typed, validated cases.

A case file is a YAML mapping ``{defaults: {...}, cases: [...]}`` (or just a list of
cases). A case says what is asked, when and for whom, how the right answer is
computed (a ground-truth function of :mod:`evals.truth`, never a literal number),
how the answer is scored, and which tools the assistant should (not) call::

    - id: kpis-logins-this-month
      category: kpis
      question: how many logins this month?
      paraphrases: [number of logins so far this month]
      turns: []                         # earlier questions of the same conversation
      as_of: "2026-11-22"              # default: the dataset's as-of
      scope: {}                         # the caller's fixed filters (owner, accounts, ...)
      bind: {p: {fn: projects, args: {sort: sessions}, take: names.0}}   # → {p} in texts
      truth: {fn: kpi, args: {metric: logins, range: this_month}}
      score:
        - number: {unit: count, label: "Logins"}
      tools: {expected: [get_kpis], forbidden: [], mode: strict, args: {range: this_month}}
      judge: "optional rubric for the LLM judge"

The bank has two splits, one folder each: ``evals/cases/dev/`` (the cases the
assistant was developed against; they may feed the example index and be tuned on)
and ``evals/cases/test/`` (held out: written without looking at the planner's
examples, asked on a second dataset, never added to the example index and never
tuned on). A case's split is the folder it lives in.

Mistakes in a case file are reported with the file and the case id, and stop the
run before anything is asked.
"""

from __future__ import annotations

import fnmatch
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CASES_DIR = Path(__file__).resolve().parent / "cases"
SPLITS = ("dev", "test")
"""The bank's splits, each a folder of ``CASES_DIR``; ``all`` selects both."""
SCORER_TYPES = (
    "number", "names", "ranked", "yes_no", "mentions", "refusal", "clarify", "injection",
)  # fmt: skip
"""Scorers a case may list; ``trajectory`` and ``grounded`` apply to every case."""
TRAJECTORY_MODES = ("strict", "subset")
_CASE_KEYS = {
    "id", "category", "question", "paraphrases", "turns", "as_of", "scope", "bind", "truth",
    "score", "tools", "judge", "note",
}  # fmt: skip


class CaseError(ValueError):
    """A case file that cannot be used; the message names the file and the case."""


@dataclass(frozen=True)
class TruthSpec:
    """A ground-truth function of :mod:`evals.truth` and its arguments."""

    fn: str
    args: dict[str, Any] = field(default_factory=dict)
    take: str | None = None
    """For ``bind``: which part of the truth to use (``value``, ``names.0``, ...)."""


@dataclass(frozen=True)
class ScorerSpec:
    kind: str
    options: dict[str, Any] = field(default_factory=dict)
    truth: TruthSpec | None = None
    """This scorer's own ground truth; the case's when None."""


@dataclass(frozen=True)
class Trajectory:
    expected: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    mode: str = "subset"
    args: dict[str, Any] = field(default_factory=dict)
    """Arguments the first expected tool's call must carry (a subset match)."""
    ok: bool = True
    """Whether every tool call must succeed (False for ambiguous / unknown names)."""


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    question: str
    source: str
    paraphrases: tuple[str, ...] = ()
    turns: tuple[str, ...] = ()
    as_of: str | None = None
    scope: dict[str, Any] = field(default_factory=dict)
    bind: dict[str, TruthSpec] = field(default_factory=dict)
    truth: TruthSpec | None = None
    score: tuple[ScorerSpec, ...] = ()
    tools: Trajectory = field(default_factory=Trajectory)
    judge: str | None = None
    split: str = "dev"
    """The folder it was loaded from: ``dev`` (tunable) or ``test`` (held out)."""

    @property
    def questions(self) -> tuple[str, ...]:
        """The question and its paraphrases: each is asked and scored on its own."""
        return (self.question, *self.paraphrases)


def _fail(source: str, case_id: str, message: str) -> CaseError:
    return CaseError(f"{source}: case {case_id!r}: {message}")


def _truth(raw: Any, where: str, source: str, case_id: str) -> TruthSpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("fn"), str):
        raise _fail(source, case_id, f"{where} needs a mapping with 'fn' (a truth function)")
    unknown = set(raw) - {"fn", "args", "take"}
    if unknown:
        raise _fail(source, case_id, f"{where} has unknown keys {sorted(unknown)}")
    args = raw.get("args") or {}
    if not isinstance(args, dict):
        raise _fail(source, case_id, f"{where}.args must be a mapping")
    return TruthSpec(raw["fn"], dict(args), raw.get("take"))


def _scorer(raw: Any, source: str, case_id: str) -> ScorerSpec:
    if isinstance(raw, str):
        raw = {raw: {}}
    if not isinstance(raw, dict) or len(raw) != 1:
        raise _fail(source, case_id, f"a scorer is one of {SCORER_TYPES} with options: {raw!r}")
    ((kind, options),) = raw.items()
    if kind not in SCORER_TYPES:
        raise _fail(source, case_id, f"unknown scorer {kind!r} (one of {', '.join(SCORER_TYPES)})")
    options = dict(options or {})
    truth = options.pop("truth", None)
    spec = _truth(truth, f"{kind}.truth", source, case_id) if truth is not None else None
    return ScorerSpec(kind, options, spec)


def _trajectory(raw: Any, source: str, case_id: str) -> Trajectory:
    raw = dict(raw or {})
    unknown = set(raw) - {"expected", "forbidden", "mode", "args", "ok"}
    if unknown:
        raise _fail(source, case_id, f"tools has unknown keys {sorted(unknown)}")
    mode = raw.get("mode", "subset")
    if mode not in TRAJECTORY_MODES:
        raise _fail(source, case_id, f"tools.mode must be strict or subset, not {mode!r}")
    return Trajectory(
        expected=tuple(raw.get("expected") or ()),
        forbidden=tuple(raw.get("forbidden") or ()),
        mode=mode,
        args=dict(raw.get("args") or {}),
        ok=bool(raw.get("ok", True)),
    )


def parse_case(
    raw: Any, source: str, defaults: dict[str, Any] | None = None, split: str = "dev"
) -> Case:
    """One case from its YAML mapping, validated; ``defaults`` fill missing keys."""
    if not isinstance(raw, dict):
        raise CaseError(f"{source}: every case must be a mapping, got {raw!r}")
    case_id = str(raw.get("id") or "?")
    merged = {**(defaults or {}), **raw}
    unknown = set(merged) - _CASE_KEYS
    if unknown:
        raise _fail(source, case_id, f"unknown keys {sorted(unknown)}")
    for key in ("id", "category", "question"):
        if not isinstance(merged.get(key), str) or not merged[key].strip():
            raise _fail(source, case_id, f"{key!r} is required (text)")
    for key in ("paraphrases", "turns"):
        value = merged.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _fail(source, case_id, f"{key!r} must be a list of questions")
    score = merged.get("score") or []
    if not isinstance(score, list):
        raise _fail(source, case_id, "'score' must be a list of scorers")
    scorers = tuple(_scorer(s, source, case_id) for s in score)
    truth = merged.get("truth")
    if any(s.truth is None and s.kind not in _NO_TRUTH for s in scorers) and truth is None:
        raise _fail(source, case_id, "a scorer needs ground truth: add 'truth' to the case")
    bind = merged.get("bind") or {}
    if not isinstance(bind, dict):
        raise _fail(source, case_id, "'bind' must map names to truth functions")
    return Case(
        id=case_id,
        category=merged["category"],
        question=merged["question"].strip(),
        source=source,
        paraphrases=tuple(merged.get("paraphrases") or ()),
        turns=tuple(merged.get("turns") or ()),
        as_of=str(merged["as_of"]) if merged.get("as_of") else None,
        scope=dict(merged.get("scope") or {}),
        bind={k: _truth(v, f"bind.{k}", source, case_id) for k, v in bind.items()},
        truth=_truth(truth, "truth", source, case_id) if truth is not None else None,
        score=scorers,
        tools=_trajectory(merged.get("tools"), source, case_id),
        judge=merged.get("judge"),
        split=split,
    )


_NO_TRUTH = {"refusal", "mentions", "injection"}
"""Scorers that can work without ground truth (their options say what to look for)."""


def load_file(path: Path, split: str = "dev") -> list[Case]:
    """The cases of one YAML file (of ``split``)."""
    source = f"{split}/{path.name}" if path.parent.name == split else path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CaseError(f"{source}: not valid YAML: {exc}") from None
    if isinstance(data, list):
        defaults, items = {}, data
    elif isinstance(data, dict) and isinstance(data.get("cases"), list):
        defaults, items = dict(data.get("defaults") or {}), data["cases"]
    else:
        raise CaseError(f"{source}: expected a list of cases or {{defaults, cases}}")
    return [parse_case(item, source, defaults, split) for item in items]


def load_cases(
    folder: Path = CASES_DIR, pattern: str | None = None, split: str = "all"
) -> list[Case]:
    """Every case of ``split`` (``dev``, ``test`` or ``all``) under ``folder`` (ids unique
    across both splits), optionally those whose id or category matches ``pattern`` (a
    glob such as ``kpis-*``, or a plain substring).

    Cases are read from ``folder/dev/*.yaml`` and ``folder/test/*.yaml``; YAML files
    directly in ``folder`` (a scratch bank) count as dev.
    """
    if split != "all" and split not in SPLITS:
        raise CaseError(f"split must be one of {', '.join(SPLITS)} or all, not {split!r}")
    cases: list[Case] = []
    for path in sorted(folder.glob("*.yaml")):
        cases.extend(load_file(path, "dev"))
    for name in SPLITS:
        for path in sorted((folder / name).glob("*.yaml")):
            cases.extend(load_file(path, name))
    seen: dict[str, str] = {}
    for case in cases:
        if case.id in seen:
            raise CaseError(f"{case.source}: case id {case.id!r} is also used in {seen[case.id]}")
        seen[case.id] = case.source
    if split != "all":
        cases = [c for c in cases if c.split == split]
    if pattern:
        cases = [c for c in cases if _matches(c, pattern)]
    return cases


def _matches(case: Case, pattern: str) -> bool:
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatch(case.id, pattern) or fnmatch.fnmatch(case.category, pattern)
    return pattern in case.id or pattern == case.category


def _with_every_category(cases: list[Case], picked: list[Case]) -> list[Case]:
    """``picked`` with one case of each category it lacks swapped in for the last pick of
    the category it holds most of (while there are fewer categories than picks). A
    sample that already covers every category is returned unchanged, so earlier
    ``--sample N`` runs still name the same cases."""
    picked = list(picked)
    chosen = {c.id for c in picked}
    for category in dict.fromkeys(c.category for c in cases):
        if any(c.category == category for c in picked):
            continue
        counts: dict[str, int] = {}
        for case in picked:
            counts[case.category] = counts.get(case.category, 0) + 1
        fullest = max(counts, key=lambda k: (counts[k], k))
        if counts[fullest] < 2:
            break  # fewer picks than categories: nothing to spare
        members = [c for c in cases if c.category == category and c.id not in chosen]
        out = max(i for i, c in enumerate(picked) if c.category == fullest)
        chosen.discard(picked[out].id)
        picked[out] = members[len(members) // 2]
        chosen.add(picked[out].id)
    return picked


def sample_cases(cases: list[Case], count: int) -> list[Case]:
    """``count`` cases spread evenly over ``cases`` (every k-th), so a slow model is
    measured on every area of the bank, ordered one category after another (round-robin);
    all of them, in bank order, when ``count`` is larger."""
    if count <= 0:
        raise CaseError(f"--sample must be a positive number of cases, not {count}")
    if count >= len(cases):
        return list(cases)
    step = len(cases) / count
    picked = [cases[int(i * step)] for i in range(count)]
    picked = _with_every_category(cases, picked)
    # Round-robin over the categories, so a run cut short still covers every area.
    by_category: dict[str, list[Case]] = {}
    for case in picked:
        by_category.setdefault(case.category, []).append(case)
    rounds = itertools.zip_longest(*by_category.values())
    return [case for round_ in rounds for case in round_ if case is not None]
