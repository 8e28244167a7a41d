"""Who may use the cockpit, and the record of what they did.

- `state.py`: the app-state SQLite database under $COCKPIT_HOME/state/ (WAL, migrated on open) that every
  gunicorn worker shares: users, sessions, audit trail, screen tokens, alarm acknowledgements.
- `accounts.py`: roles and their permissions (declared once), scopes, password policy and hashing,
  lockout, and the account changes the `cockpit user` commands make.
- `audit.py`: the append-only, hash-chained audit trail, its verification and its retention.

The Dash app does not enforce login yet: these are the parts later work builds sessions and scope on.
"""
