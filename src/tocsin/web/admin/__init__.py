"""Admin pages: people, teams, tokens, policy versions, integrations, dead jobs, audit."""
