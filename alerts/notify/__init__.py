"""Notifications: who hears about an alert, over which channel, and when.

`message` renders an alert for people (subject, text, SMS) and machines (JSON);
`channels` delivers it (local log, email over SMTP, webhook, MQTT topic, SMS
provider webhook); `policy` decides when (quiet hours, minimum severity,
escalation targets); `dispatch` finds what is due, sends it and logs every
delivery in `notifications`, which is also what de-duplicates.
"""
