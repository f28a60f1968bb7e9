"""nsmc-sentiment: Korean movie-review sentiment with a recurrent neural network.

Importing the package is cheap on purpose: nothing here imports torch, so the NumPy prediction
path starts fast. Torch-dependent modules (model, engine, trainer) are imported where used.
"""

__version__ = "0.1.0"
LABEL_NAMES = ("부정", "긍정")  # index 0 = negative, 1 = positive, as in NSMC's label column
