"""cure4rec.leaderboard."""
