"""Evaluation: question sets, pure metrics, reports, SciFact, calibration and benches."""
