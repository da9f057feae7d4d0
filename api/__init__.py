"""FastAPI service over ``wfm.services`` (adapter layer).

Not built yet: issue 7 builds it (``create_app(settings)``, SQLModel storage in ``wfm/db``).
"""

__all__: list[str] = []
