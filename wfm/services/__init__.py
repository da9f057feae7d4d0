"""The service layer: every adapter (CLI, API, batch, notebooks) calls these functions.

Modules: ``wfm.services.staffing`` (interval staffing and the what-if run),
``wfm.services.samples`` (the bundled sample centre), ``wfm.services.sitedata`` (loading a
site folder into domain objects).
"""

__all__: list[str] = []
