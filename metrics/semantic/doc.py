"""``docs/METRICS.md``'s vocabulary section, written from the registry.

    python -m metrics.semantic.doc      # prints the Markdown; scripts/build-metrics-doc adds it

Each table row names its term in backticks, so the glossary (``tools/glossary.py``)
takes every registry description as an entry too.
"""

from __future__ import annotations

from metrics.semantic.meta import aggregation
from metrics.semantic.registry import Registry
from metrics.semantic.vocabulary import REGISTRY


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(registry: Registry = REGISTRY) -> str:
    lines = [
        "## Query vocabulary",
        "",
        "Generated from the semantic registry (`metrics/semantic/vocabulary.py`) by",
        "`scripts/build-metrics-doc`: the measures, dimensions, filters, ranges and risk",
        "signals that `portalpulse query`, `GET /api/query`, `GET /api/meta`, the tools and",
        "the assistant understand. Synonyms are the words the assistant also accepts.",
        "",
        "### Measures",
        "",
        "| measure | label | kind | unit | how it is counted | cut by | synonyms |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for m in registry.measures.values():
        lines.append(
            f"| `{m.name}` | {m.label} | {m.temporal} | {m.unit} | "
            f"{_cell(m.description)} ({aggregation(m)}) | "
            f"{', '.join(registry.measure_dimensions(m))} | {', '.join(m.synonyms)} |"
        )
    lines += [
        "",
        "### Dimensions",
        "",
        "| dimension | label | kind | attribution | values |",
        "| --- | --- | --- | --- | --- |",
    ]
    for d in registry.dimensions.values():
        lines.append(
            f"| `{d.name}` | {d.label} | {d.kind} | {_cell(d.attribution)} | "
            f"{', '.join(d.values)} |"
        )
    lines += ["", "### Filters", "", "| filter | description |", "| --- | --- |"]
    for f in registry.filters.values():
        values = f" One of: {', '.join(f.values)}." if f.values else ""
        lines.append(f"| `{f.name}` | {_cell(f.description)}{values} |")
    lines += ["", "### Named ranges", "", "| range | label | also said as |", "| --- | --- | --- |"]
    for r in registry.ranges.values():
        lines.append(f"| `{r.name}` | {r.label} | {', '.join(r.synonyms)} |")
    lines += ["", "### Risk signals", "", "| signal | label | rule |", "| --- | --- | --- |"]
    for s in registry.signals.values():
        lines.append(f"| `{s.name}` | {s.label} | {_cell(s.rule)} |")
    lines += ["", "### Project risk levels", "", "| level | label | when | also said as |",
              "| --- | --- | --- | --- |"]  # fmt: skip
    for level in registry.levels.values():
        lines.append(
            f"| `{level.name}` | {level.label} | {_cell(level.description)} "
            f"| {', '.join(level.synonyms)} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
