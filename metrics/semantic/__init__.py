"""The semantic layer: one registry of the product's vocabulary, one resolver, one query.

* :mod:`metrics.semantic.registry` — the types (measure, dimension, filter, signal, column);
* :mod:`metrics.semantic.vocabulary` — the declarations, ``REGISTRY``;
* :mod:`metrics.semantic.resolve` — names → ids (one :class:`ResolveError`);
* :mod:`metrics.semantic.query` — measures × dimensions × scope × where × sort × limit;
* :mod:`metrics.semantic.compile` — that query as SQLAlchemy Core on the stored tables.

Kept free of imports here so that :mod:`metrics.scope` can use the resolver.
"""
