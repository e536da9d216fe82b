"""Motion: Farnebäck optical flow of the clips, and selective relevance (the temporal part of an explanation)."""
