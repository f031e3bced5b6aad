"""The one exception type users of this package meet."""


class BiRefNetError(Exception):
    """Something the user can fix: a bad file, a wrong setting, a bad image.

    The message names the file, key or value at fault and says what to do.
    """
