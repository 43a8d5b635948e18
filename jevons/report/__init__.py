"""What results become for people: tidy tables (and reports) of a run's Dataset."""
