"""Multi-project shift optimizer with OR-Tools CP-SAT (engine layer).

Not built yet: issue 6 builds it. The package exists so that the layering rules hold from
the first commit; it must never import ``wfm.sim``, the simulator that checks it.
"""

__all__: list[str] = []
