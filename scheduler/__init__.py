"""Multi-project shift optimizer with OR-Tools CP-SAT (engine layer).

Built so far (issue 6, first part): ``scheduler.validator``, the independent check of every
hard shift rule on a schedule frame, with coverage recomputed against the requirements. The
CP-SAT model comes later and must share no code with the validator. The package must never
import ``wfm.sim``, the simulator that checks it.
"""

from scheduler.validator import RULES, ValidationReport, Violation, validate_schedule

__all__ = ["RULES", "ValidationReport", "Violation", "validate_schedule"]
