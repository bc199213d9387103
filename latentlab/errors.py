"""The one exception type the command line turns into a short message instead of a traceback."""


class LatentlabError(Exception):
    """A problem the user can fix: the message says what was wrong and what to do."""
