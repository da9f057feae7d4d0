"""The service layer: every adapter (CLI, API, batch, notebooks) calls these functions.

Modules: ``wfm.services.staffing`` (interval staffing and the what-if run),
``wfm.services.forecasting``, ``wfm.services.scheduling`` (plan a week of shifts and validate
it), ``wfm.services.simulation``, ``wfm.services.dialer``, ``wfm.services.samples`` (the bundled
sample centre), ``wfm.services.sitedata`` (loading a site folder into domain objects),
``wfm.services.rules`` (shift rules from TOML), ``wfm.services.plots``, ``wfm.services.economics``
(revenue, cost and margin of a schedule or a what-if).
"""

__all__: list[str] = []
