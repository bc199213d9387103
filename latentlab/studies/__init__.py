"""Studies over many runs: the seed study (``seeds``) and the reader of its records (``records``)."""
