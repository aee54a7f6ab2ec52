"""What a command does with a mistake the user can fix: one line on stderr, `<command>: <what
to change>`, and exit code 2, as for a wrong command-line flag. The traceback too under
HYDRA_FULL_ERROR=1, as Hydra does for its own errors."""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from hydra.errors import InstantiationException

from colorizer.errors import UserError

USAGE_ERROR = 2
# Every error a user can fix derives from UserError (colorizer.errors); a missing input file too.
USER_ERRORS: tuple[type[Exception], ...] = (UserError, FileNotFoundError)


@contextmanager
def one_line_errors(command: str, *also: type[Exception]) -> Iterator[None]:
    """Report a user error (`USER_ERRORS`, and `also`) raised inside as one line and exit with 2."""
    try:
        yield
    except (*USER_ERRORS, *also) as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        # Hydra wraps what a constructor raised in its own message; the constructor's says what to change.
        said = error.__cause__ if isinstance(error, InstantiationException) and error.__cause__ else error
        message = " ".join(str(said).split()) or type(said).__name__
        sys.stderr.write(f"{command}: {message}\n")
        raise SystemExit(USAGE_ERROR) from None
