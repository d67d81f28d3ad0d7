"""Alerts: what happens after a detector raises an event.

Events (the detection package's event frame) become alerts with a lifecycle
(open → acknowledged → resolved, or "not a leak"), shaped by rules per zone and
meter category and by the operators' own feedback, and delivered to people and
systems through notification channels. One module per job:

- `schema`: the alert tables and their default rules;
- `rules`, `feedback`: severity and score thresholds for an event;
- `lifecycle`: raising, updating and closing alerts, with history;
- `notify`: channels (log, email, webhook, MQTT, SMS) and the delivery policy;
- `service`: the loop that scans, raises, escalates and notifies.
"""
