"""The one file selector: which entries of a build context or stage root a step reads.

Every reader of source files goes through here: COPY and ADD (:mod:`dockyard.engine.copy`),
their cache keys (:mod:`dockyard.graph.contenthash`) and ``RUN --mount=type=bind`` of the
context. Because the copy and the key iterate the very same :class:`~.select.Entry` values,
a key can only stay the same when every copied name, mode, owner, content and link target
stays the same, and files that are not copied never move it.

- :mod:`.gomatch`: Go's ``path.Match`` (COPY wildcards);
- :mod:`.patterns`: moby/patternmatcher (.dockerignore, ``--exclude``, ``--parents``);
- :mod:`.tree`: a root as a step sees it (.dockerignore applied, symlinks resolved inside);
- :mod:`.select`: the sources of one COPY/ADD and the entries below them.
"""

from dockyard.selector.errors import BadPatternError, LinkLoopError, SelectionError, SourceNotFoundError
from dockyard.selector.patterns import PatternMatcher
from dockyard.selector.select import Entry, Selected, SourceSpec, Top, select
from dockyard.selector.tree import Node, SourceTree

__all__ = [
    "BadPatternError", "Entry", "LinkLoopError", "Node", "PatternMatcher", "Selected", "SelectionError",
    "SourceNotFoundError", "SourceSpec", "SourceTree", "Top", "select",
]
