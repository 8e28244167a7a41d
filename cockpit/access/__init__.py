"""Who may use the cockpit, and the record of what they did.

- `state.py`: the app-state SQLite database under $COCKPIT_HOME/state/ (WAL, migrated on open) that every
  gunicorn worker shares: users, sessions, audit trail, screen tokens, alarm acknowledgements.
- `accounts.py`: roles and their permissions (declared once), per-user grants beyond the role, scopes, password
  policy and hashing, lockout, and the account changes the `cockpit user` commands make.
- `tokens.py`: wall screen tokens: named, revocable, scoped secrets (only their hash stored) that a wall PC
  exchanges for a view-only session; issued and revoked by `cockpit token`, every use audited.
- `audit.py`: the append-only, hash-chained audit trail, its verification and its retention.
- `principal.py`: who a request is (a user, a wall screen, the command line) and `current_principal()`.
- `sessions.py`: sign-in sessions (hashed tokens, idle and absolute timeouts, logout everywhere).
- `web.py`: the sign-in gate in front of every route and callback, the login and password pages, screen
  pairing, trusted-header SSO, the permission each page/route/callback needs, the watermark and user menu.
- `rules.py`: who may see a KPI's record rows and export them (records, export, personal records).
- `demo.py`: one account per role on a demo home, so that `make demo` opens with nothing to set up.

The data a principal sees is kept to its scope by the warehouse (`cockpit.data.ScopedWarehouse`).
"""
