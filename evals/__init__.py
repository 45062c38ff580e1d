"""Evals: the assistant's answers checked against ground truth from the metrics layer.

* :mod:`evals.cases` — the question bank (``evals/cases/*.yaml``) as typed cases;
* :mod:`evals.dataset` — the fixed seeded dataset every run answers on;
* :mod:`evals.truth` — ground-truth functions that call ``metrics`` directly;
* :mod:`evals.scorers` — numbers, names, rankings, yes/no, mentions, trajectory,
  groundedness, refusal, clarification, injection, and the optional LLM judge;
* :mod:`evals.runner` — asks every case through :class:`assistant.service.Assistant`;
* :mod:`evals.report` — the JSON and Markdown reports and the terminal tables.
"""
