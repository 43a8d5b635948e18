"""What a planner reads from a result: the HTML report, tidy exports, describe."""
