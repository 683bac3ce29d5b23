"""Business rules: one service per area, records and events kept apart so imports never cycle."""
