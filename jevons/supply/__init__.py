"""Serving supply: benchmark points to prefill and decode rates, interactivity frontiers,
and the roofline estimate for model and GPU pairs with no measured point."""
