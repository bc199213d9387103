"""The exception types the command line turns into a short message instead of a traceback."""


class LatentlabError(Exception):
    """A problem the user can fix: the message says what was wrong and what to do."""

    exit_code = 1


class Interrupted(LatentlabError):
    """Ctrl-C: the message says what was saved and how to go on. It stops a whole study, not one run."""

    exit_code = 130


class DataSetMissing(LatentlabError):
    """A data set that is not on this machine and is never downloaded (Fashion-MNIST)."""


class SomeSkipped(LatentlabError):
    """``reproduce`` finished what it could; the message names what it skipped and why."""

    exit_code = 3


class PublishedNumbersDiffer(LatentlabError):
    """``reproduce`` rewrote a committed file so that a published number or field differs."""

    exit_code = 4


class RecordRefused(LatentlabError):
    """A file latentlab wrote and reads back (metrics.json, a checkpoint's recorded fields, an explorer page's data,
    ...) that is damaged or does not satisfy its schema (latentlab/schemas/): refused, and nothing rewritten from it."""
