"""wfm — workforce management and scheduling for outsourced, multi-project contact centres.

Layers (imports point down only; ``tests/test_layers.py`` enforces it):

- adapters: ``wfm.cli``, ``api``, ``notebooks``
- services: ``wfm.services``, ``wfm.db`` (tables, migrations, repositories)
- engines: ``wfm.staffing``, ``forecasting``, ``scheduler``, ``wfm.sim``, ``wfm.economics``
- leaf: ``wfm.grid``, ``wfm.contracts``, ``wfm.domain``, ``wfm.errors``
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
