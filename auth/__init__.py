"""Sign-in accounts for the web side: users, roles, password hashes, sessions, tokens."""
