"""Reports of work orders for supervisors: counts, on-time rate, overdue, satisfaction, repeat complaints."""
