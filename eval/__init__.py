"""Gold labels and scoring: how well any predictor tags paragraphs, on the seeds and out of genre."""
