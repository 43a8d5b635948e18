"""Calibration: serving traces turned into scenario inputs with stated uncertainty."""
