"""Bundled ACD simulator: checks a plan against its service targets (engine layer).

Discrete-event simulation of one site: non-homogeneous Poisson arrivals per project and
interval from the demand frame, exponential or lognormal handle times, exponential patience,
per-project FCFS queues and skills-based routing over the agents' work segments of the
schedule, chat concurrency (an agent handles up to ``SimProject.concurrency`` contacts of one
project at once), seeded replications with 95 % confidence intervals; the replications can
run in chunks anywhere (``simulate_replications``) and be combined (``combine_replications``)
into the frames of one ``simulate`` call, bit for bit. It shares no code with the
scheduler it checks (``tests/test_layers.py`` enforces that).

The predictive-dialer simulation of an outbound campaign (``simulate_dialer``: pacing
policies, drops, AMD, US and UK abandonment compliance) is in ``wfm.sim._dialer``.
"""

from wfm.sim._dialer import (
    ABANDON_LIMIT,
    ADAPTIVE_GAIN,
    OUTCOMES,
    Campaign,
    DialerReport,
    DialerTotals,
    Pacing,
    RuleCompliance,
    campaign_from_mapping,
    parse_pacing,
    simulate_dialer,
)
from wfm.sim._replicate import (
    SimChunk,
    SimProject,
    SimResult,
    combine_replications,
    simulate,
    simulate_replications,
)

__all__ = [
    "ABANDON_LIMIT",
    "ADAPTIVE_GAIN",
    "OUTCOMES",
    "Campaign",
    "DialerReport",
    "DialerTotals",
    "Pacing",
    "RuleCompliance",
    "SimChunk",
    "SimProject",
    "SimResult",
    "campaign_from_mapping",
    "combine_replications",
    "parse_pacing",
    "simulate",
    "simulate_dialer",
    "simulate_replications",
]
