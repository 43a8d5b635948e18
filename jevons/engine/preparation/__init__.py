"""From a scenario to the kernel contract: calendar tables, the model plan, input draws."""
