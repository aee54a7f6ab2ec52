"""The one base of every mistake a user can fix (a config key, a checkpoint, a photo, a hint,
missing weights): commands report any of them as one line (`colorizer.cli`), without a traceback."""


class UserError(Exception):
    """A mistake the user can fix; the message says what to change."""
