"""The Faust side: relationship tables and privilege-change events (issue 6 adds the agents)."""
