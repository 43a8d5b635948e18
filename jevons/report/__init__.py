"""What a planner reads from a result: the HTML report and the napkin view of a scenario."""
