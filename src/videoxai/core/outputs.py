"""What a study writes: the names of its tables and figures, and why a table can be absent.

Torch-free, so the workflow can declare every output while it builds its DAG; the report modules
(:mod:`videoxai.report.tables`, :mod:`videoxai.report.figures`) write them.
"""

from __future__ import annotations

TABLE_NAMES: tuple[str, ...] = (
    "table1",
    "table2",
    "table3",
    "table4",
    "accuracy",
    "faithfulness",
    "calibration",
    "motion_reliance",
    "explanation_behaviour",
)

TABLE_TITLES: dict[str, str] = {
    "table1": "Table 1: motion precision",
    "table2": "Table 2: agreement between methods",
    "table3": "Table 3: selectivity",
    "table4": "Table 4: overhead",
    "accuracy": "Clip accuracy",
    "faithfulness": "Faithfulness",
    "calibration": "Calibrated motion test",
    "motion_reliance": "Motion reliance: the model without motion",
    "explanation_behaviour": "Explanation vs behaviour",
}

# Why a table has no rows, when nothing more specific is known (the workflow passes its own).
ABSENT_REASONS: dict[str, str] = {
    "table1": "no clip has motion-precision values (every video failed, or no method ran)",
    "table2": "no clip was explained by two or more methods",
    "table3": "no selective maps (selective.n is empty)",
    "table4": "no timings were recorded",
    "accuracy": "no clip has a label among the model's classes",
    "faithfulness": "no faithfulness rows (the faithfulness stage did not run)",
    "calibration": "the calibrated test is off (selective.calibration.enabled: false)",
    "motion_reliance": "the behavioural test is off (behaviour.enabled: false)",
    "explanation_behaviour": "needs the behavioural test and selective or calibrated maps",
}

FIGURE_NAMES: tuple[str, ...] = (
    "precision_by_method",
    "precision_vs_tau",
    "precision_vs_n",
    "selectivity",
    "overhead",
    "deletion_insertion",
    "motion_reliance",
    "explanation_behaviour",
)


__all__ = ["ABSENT_REASONS", "FIGURE_NAMES", "TABLE_NAMES", "TABLE_TITLES"]
