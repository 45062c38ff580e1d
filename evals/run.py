"""One eval run end to end: settings → dataset → assistant → runner → summary.

Used by ``portalpulse eval`` and by the tests, so both run exactly the same thing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.providers import openai_chat_model
from assistant.service import Assistant
from assistant.settings import Settings
from evals.cases import CASES_DIR, SPLITS, Case, load_cases
from evals.dataset import CACHE_DIR, DEV, SPECS, Dataset, DatasetSpec, open_dataset
from evals.judge import Judge
from evals.report import Summary, now
from evals.runner import Runner, RunResult

OFFLINE_MODEL = "planner"
"""The model name reports use for the offline planner."""


def eval_settings(
    provider: str, model: str | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Settings for an eval run: the environment's, with provider and model chosen here.

    Raises :class:`assistant.settings.SettingsError` (naming the variable) when the
    provider cannot run, e.g. ``openai`` without ``OPENAI_API_KEY``/``OPENAI_BASE_URL``.
    """
    base = Settings.from_env(environ) if provider == "openai" else Settings.from_env({})
    changes: dict[str, Any] = {"provider": provider}
    if model:
        changes["model"] = model
    return base.replace(**changes)


@contextmanager
def opened(cache_dir: Path = CACHE_DIR, spec: DatasetSpec = DEV) -> Iterator[Dataset]:
    data = open_dataset(cache_dir, spec)
    try:
        yield data
    finally:
        data.close()


def run_eval(
    settings: Settings,
    cases: list[Case] | None = None,
    *,
    pattern: str | None = None,
    split: str = "all",
    cases_dir: Path = CASES_DIR,
    cache_dir: Path = CACHE_DIR,
    judge: bool | None = None,
    progress: Callable[[RunResult], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    **model_kwargs: Any,
) -> Summary:
    """Run ``cases`` (default: the bank's ``split``, filtered by ``pattern``) and summarize.

    Each split is asked on its own dataset (:data:`evals.dataset.SPECS`): dev cases on
    the dev demo, test cases on the second demo, each with a fresh assistant (and so
    its own example index, which holds the seed examples only). ``judge`` (default: when
    the provider is a real model) grades rubrics with the same model settings;
    ``model_kwargs`` go to ``ChatOpenAI`` (``http_client`` in tests).
    """
    selected = cases if cases is not None else load_cases(cases_dir, pattern, split)
    if on_start is not None:
        on_start(sum(len(c.questions) for c in selected))
    started, clock = now(), time.perf_counter()
    use_judge = settings.provider != "offline" if judge is None else judge
    grader = Judge(openai_chat_model(settings, **model_kwargs)) if use_judge else None
    results: list[RunResult] = []
    for name in SPLITS:
        part = [c for c in selected if c.split == name]
        if not part:
            continue
        with opened(cache_dir, SPECS[name]) as data:
            assistant = Assistant(data.engine, settings, store_dir=data.store_dir)
            results += Runner(assistant, data, settings.provider, grader).run(part, progress)
    model = OFFLINE_MODEL if settings.provider == "offline" else settings.model
    return Summary(settings.provider, model, started, time.perf_counter() - clock, results)
