"""Operations: health and metrics, roles, API access, schedules and secrets."""
