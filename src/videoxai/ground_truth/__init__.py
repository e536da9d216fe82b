"""The ground-truth benchmark: synthetic videos with known evidence, models trained on them, and the scores of every method."""
