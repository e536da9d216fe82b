"""The workflow's model stages as plain functions: explain, faithfulness and the preflight check, and the per-bucket loop they share."""
