"""The one exception type users of this package meet."""


class BiRefNetError(ValueError):
    """Something the user can fix: a bad file, a wrong setting, a bad image (a ValueError).

    The message names the file, key or value at fault and says what to do.
    """
