"""The torch-free core: errors, files, paths, the method registry, the study configuration, batching, label maps and annotations.

Nothing in here imports torch, so the workflow can build its DAG and check a configuration without it."""
