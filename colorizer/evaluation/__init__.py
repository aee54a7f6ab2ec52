"""Evaluation: metrics against the gray baseline, FID, scoring a model on a split, the HTML report."""
