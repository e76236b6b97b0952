"""The Dagster shell: assets, checks, schedules, resources and IO managers, each a thin call into the core."""
