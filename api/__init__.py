"""FastAPI service over ``wfm.services`` (adapter layer).

``create_app(settings)`` builds the app (nothing is created at import); ``ApiSettings``
reads ``WFM_DATABASE_URL``, ``WFM_TZ``, ``WFM_MAX_UPLOAD_BYTES``, ``WFM_SAMPLES_DIR``.
``wfm serve`` runs it with uvicorn; the OpenAPI docs are at ``/docs``.
"""

from api.app import create_app
from api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]
