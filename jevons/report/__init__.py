"""Planning outputs: the HTML report, tidy exports and the napkin view of a scenario."""
