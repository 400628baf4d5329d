"""Small pieces shared by the Django apps (fields, errors, the action helpers)."""
