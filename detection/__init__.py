"""Leak and anomaly detection: detectors that read the store and return events in one frame shape.

Rules that explain themselves (`detection.rules_flow`, `detection.rules_sensor`),
a z-score baseline and an isolation forest (`detection.statistical`) all return
the frame of `detection.events`; `detection.scan` runs them over a window and
`detection.events_store` persists what they found. `detection.evaluation`
scores them against the simulator's ground-truth labels.
"""
