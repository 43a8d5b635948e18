"""The project's own exception types, caught at the CLI boundary."""


class JevonsError(Exception):
    """An error the user can fix; the CLI prints its message without a traceback."""


class ScenarioError(JevonsError):
    """A scenario file that cannot be read or does not validate.

    ``problems`` holds one ``(key_path, message)`` pair per problem so that every
    mistake in a file is reported at once.
    """

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = [
            f"{source}: {path}: {msg}" if path else f"{source}: {msg}" for path, msg in problems
        ]
        super().__init__("\n".join(lines))


class InternalError(JevonsError):
    """A fault of jevons itself, found and explained; the CLI exits with code 1."""


class BackendUnavailableError(JevonsError):
    """A backend was requested that this machine cannot run."""


class JevonsWarning(UserWarning):
    """A note the user should see but that does not stop a run; the CLI prints it in one
    line."""


class Interrupted(BaseException):
    """A signal (SIGINT, SIGTERM, SIGHUP) stopped the work.

    A ``BaseException``, as ``KeyboardInterrupt`` is, so that no ``except Exception``
    swallows it; cleanups (``finally``) run as it passes, and a result being
    written is removed, leaving any earlier file in its place.
    """

    def __init__(self, signum: int, name: str):
        self.signum = signum
        self.name = name
        super().__init__(f"interrupted by {name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # as a shell reports a process the signal ended
