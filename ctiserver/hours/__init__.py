"""Service hours of the hotlines: opening hours per weekday on the shared working calendar's holidays,
and the supervisors' emergency "closed now" switch (stored, audited, pushed to supervisors)."""
