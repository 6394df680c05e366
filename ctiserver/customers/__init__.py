"""Who is calling: the customer record and recent work orders behind a caller's number or customer number."""
