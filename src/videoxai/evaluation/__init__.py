"""Measuring explanations: motion metrics, confidence intervals, faithfulness, randomisation, the static control and correctness."""
