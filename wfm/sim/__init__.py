"""Bundled ACD simulator: checks a plan against its service targets (engine layer).

Discrete-event simulation of one site: non-homogeneous Poisson arrivals per project and
interval from the demand frame, exponential or lognormal handle times, exponential patience,
per-project FCFS queues and skills-based routing over the agents' work segments of the
schedule, seeded replications with 95 % confidence intervals. It shares no code with the
scheduler it checks (``tests/test_layers.py`` enforces that).
"""

from wfm.sim._replicate import SimProject, SimResult, simulate

__all__ = ["SimProject", "SimResult", "simulate"]
