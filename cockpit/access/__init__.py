"""Who may use the cockpit, and the record of what they did.

- `state.py`: the app-state SQLite database under $COCKPIT_HOME/state/ (WAL, migrated on open) that every
  gunicorn worker shares: users, sessions, audit trail, screen tokens, alarm acknowledgements.
- `accounts.py`: roles and their permissions (declared once), per-user grants beyond the role, scopes, password
  policy and hashing, lockout, and the account changes the `cockpit user` commands make.
- `tokens.py`: wall screen tokens: named, revocable, scoped secrets (only their hash stored) that a wall PC
  exchanges for a view-only session; issued and revoked by `cockpit token`, every use audited.
- `audit.py`: the append-only, hash-chained audit trail, its verification and its retention.

The Dash app does not enforce login yet: these are the parts later work builds sessions and scope on.
"""
