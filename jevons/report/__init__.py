"""What a planner reads from a result: the HTML report, tidy tables, and the napkin
view of a scenario."""
