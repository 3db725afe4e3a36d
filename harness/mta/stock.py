"""A stock configuration of an MTA, as data: what each MTA package's `STOCK` table is made of (read through
harness.mta.versions.stock; `mailharness matrix` runs each on every release of its MTA).

A stock configuration is either a bundled example (examples/NAME) or a recipe: the steps that make its folder from
the image of the release it runs on, at run time, so that the package's own files are used as that release ships
them and never copied into the repository. The steps run in order in a one-off container of the release's image
(harness.matrix.stock), on an empty folder:

    ImageFile   a file of the image, appended to a file of the folder (the first one makes it): the package's own
    Text        a file of ours, written as it is (a settings file an installer would write, /etc/mailname)
    Command     a program of the image run on the folder ({folder} in its arguments), as the package's installer
                runs it (postconf -e)

A leaf of the import graph: the MTA packages' tables import it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError


@dataclass(frozen=True)
class ImageFile:
    """A file of the release's image (`path`), appended to the folder's file `name` (the first one makes it)."""

    path: str
    name: str


@dataclass(frozen=True)
class Text:
    """A file of ours in the folder (`name`), with `text` as it is."""

    name: str
    text: str


@dataclass(frozen=True)
class Command:
    """A program of the release's image run on the folder: `argv`, where "{folder}" stands for the folder."""

    argv: tuple[str, ...]


Step = ImageFile | Text | Command
FOLDER = "{folder}"  # in a Command's arguments: the folder the recipe makes


@dataclass(frozen=True)
class Stock:
    """One stock configuration: a bundled example (`example`) or a recipe (`recipe`), exactly one of them.

    `name` is how `mailharness matrix --config` and the files of a run name it; `title` heads its columns
    ("Debian's internet site"); `what` says exactly what it is, for the matrix's list of configurations;
    `arguments` are what `mailharness check` needs besides the folder and the release (--mta-domain DOMAIN)."""

    name: str
    title: str
    what: str
    example: str = ""
    recipe: tuple[Step, ...] = ()
    arguments: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if bool(self.example) == bool(self.recipe):
            raise UsageError(f"stock configuration {self.name}: expected a bundled example or a recipe, exactly one; "
                             f"got {'both' if self.example else 'neither'}")
