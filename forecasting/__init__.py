"""Interval call-volume and AHT forecasting (engine layer).

Not built yet: issue 4 builds it (estimator protocol ``fit(history) -> self``,
``predict(at, level=(80, 95))`` returning the demand frame of ``wfm.contracts``).
The package exists so that the layering rules hold from the first commit.
"""

__all__: list[str] = []
