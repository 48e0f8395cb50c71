"""Users, roles, organizations, regions, login and API tokens."""
