"""The model and the random number generator.

``philox`` and ``transforms`` define the random stream every backend draws;
``reference`` is the vectorised NumPy model, the readable specification.
"""
