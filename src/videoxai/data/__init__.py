"""Videos in, clips out: reading videos, per-video HDF5 shards, dataset listings and split files."""
