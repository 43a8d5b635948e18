"""The model and the random number generator.

``philox`` and ``transforms`` define the random stream every backend draws;
``reference`` is the vectorised NumPy model, the readable specification;
``trajectory`` is the same model as a scalar loop compiled for the CPU
(``cpu``) and the GPU (``cuda``). Only the compiled modules import Numba.
"""
