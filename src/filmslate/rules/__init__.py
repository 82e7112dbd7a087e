"""The rules layer: what code alone can decide about a film, as pure functions over values.

Layer 2 of the package (core <- schemas <- rules <- store <- engine <- ...): modules here
import only ``filmslate.core``, ``filmslate.schemas`` and each other, which
``tests/test_architecture.py`` enforces. They read no project, store or network and call no
model (``_media`` only runs the bundled ffmpeg on the bytes it is handed): they take schema
models, text or bytes and return values, so the skills, the engine and a person at the
command line get the same answer from the same input, and a test needs no project on disk.

What lives here:

- ``_fountain``: the Fountain screenplay parser; ``_script_tables``: the SCENES and
  BREAKDOWN tables read off a parsed screenplay.
- ``_worldstate``: applying a scene's STATE_DIFF to the WORLD_STATE under the world rules.
- ``_continuity``: contradictions between scenes, locks and the world state found by code,
  and the CONTINUITY_REPORT built from them.
- ``_stylometry``: a character's measured dialogue voice, checked against the voice lock,
  the character's earlier scenes and the other speakers.
- ``_locks``: the gates a CHAR / SET / VOICE / STYLE lock passes before it is stored;
  ``_routing``: the gate of a routing decision.
- ``_media``: the technical QC measures of a decoded clip; ``_storyboard``: schematic
  storyboard frames; ``_sheets``: schematic reference sheets of a lock and the image prompt for
  a real one; ``_compose``: the provider prompt and negative prompt composed from a GenPack;
  ``_takes``: facts about shots and their takes.

Modules are private (``_name``) and the names in them public. A module too big for the size
rule is split into siblings sharing its name as a prefix (``_continuity_props``,
``_fountain_lines``, ``_stylometry_checks`` ...); the original module keeps the entry points
and re-exports the public names of its parts, so callers import from one path.

This ``__init__`` imports nothing, so importing one rule never loads the others (numpy,
Pillow, imageio).
"""
