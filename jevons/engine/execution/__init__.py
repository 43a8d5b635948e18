"""Running the model: backends, memory sizing, the run loop, shards, sweeps, Dask."""
