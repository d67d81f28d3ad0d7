"""Component ids of the Alert rules page, shared by its layout and callbacks."""

TABLE = "rules-table"
RULES = "rules-keys"  # the listed rules' keys (zone, category, kind, concern), in the table's order
EDIT = "rules-edit"  # pattern-matching type: {"type": EDIT, "index": row}
ZONE = "rules-zone"
CATEGORY = "rules-category"
KIND = "rules-kind"
CONCERN = "rules-concern"
SEVERITY = "rules-severity"
MIN_SCORE = "rules-min-score"
ACTOR = "rules-actor"
SAVE = "rules-save"
REMOVE = "rules-remove"
MESSAGE = "rules-message"
REACH = "rules-reach"  # what the rule in the form would replace, and the narrower rules that win over it
CHANGED = "rules-changed"
