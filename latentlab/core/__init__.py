"""The subject of the paper: configuration, data, the two models and their loss, the decoder's
likelihood, the training step and loop, checkpoints, and the numbers of a finished model.

It imports nothing from the rest of the package (tests/test_layout.py checks this): publishing,
studies and the command line are built around it.
"""
