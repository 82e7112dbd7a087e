"""Which capitalised words in action are things: the prop candidates of an import.

Screenplays write a prop's name in CAPS the first time it matters (``a BRASS KEY``), but they
also capitalise sounds (``BANG``, ``the door SLAMS``), verbs of sudden action (``she RUNS``),
emphasis (``It is NOT over``, ``DEAD!``) and camera directions (``CLOSE ON``). Code cannot
know what a word means, so it decides with a fixed, explainable heuristic; what survives is
only a *candidate* that script-breakdown confirms (it must name who owns each prop) or
rejects (its answer's ``not_props``: code drops the word from that scene). A caps word is
not a thing when

1. it is a screen direction, transition or emphasis word (``DIRECTIONS``, ``EMPHASIS``);
2. it is a sound from ``SOUNDS``, bare or inflected (``BANG``, ``CRASHES``, ``KNOCKING``), or
   has a sound's shape: a letter three times running (``AAAH``, ``BRRR``), a hyphenated
   echo whose parts share their consonants (``TICK-TOCK``, ``DING-DONG``), or a word said
   twice (``TOOT TOOT``);
3. it is an inflected form of an action verb from ``VERBS`` (``RUNS``, ``GRABBED``,
   ``LUNGING``, ``FELL``) or of an object that sounds (``the phone RINGS``), except an ``-S``
   form right after a determiner, a plural (``the BOLTS``, ``her RINGS``); a bare stem can be
   a thing (``a PUNCH bowl``, ``a RING``) and is kept;
4. it is not after a determiner (``a``, ``the``, ``her``, a possessive, a number) and its
   shape is a verb's or an adverb's: ``-ING`` or ``-ED`` on a stem of three letters or more
   (``the CEILING`` and ``a PAINTING`` stay things, and a few such nouns are listed), or
   ``-LY`` on a stem of three or more (``SLOWLY``); an ``-ING``/``-ED``/``-EN`` word with another
   caps word after it names that thing (``ROWING BOAT``, ``FOLDED NOTE``, ``BROKEN GLASS``);
5. it ends in ``-S`` right after a subject (a pronoun such as ``she`` or a character's name):
   ``Jonah WHISPERS``, ``She BOLTS``; and a run followed by ``!`` is a shout or a sound.

Names are matched before any of this (a caps word that is a character's cue or name is the
character, never a prop), and a line with no lowercase letter is a shouted line, not props.
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Screen directions, transitions and camera words: written in caps, never props.
DIRECTIONS = _words(
    """CONTINUED CONT CONTD MORE CUT CUTS FADE FADES DISSOLVE DISSOLVES SMASH MATCH INTERCUT
    MONTAGE FLASHBACK FLASHFORWARD END BEGIN BACK SCENE SUPER TITLE CHYRON INSERT ANGLE POV CLOSE
    CLOSEUP CU ECU MCU WIDE SHOT SHOTS REVERSE PAN PANS TILT TILTS ZOOM ZOOMS DOLLY TRACKING
    OVER BLACK WHITE SLOW MOTION FREEZE FRAME SERIES SPLIT SCREEN VO OS OC INT EXT EST OK OKAY
    DAY NIGHT LATER CONTINUOUS SILENCE NOTHING EVERYTHING NOW NO YES STOP NEVER IN OUT TO ON
    UP DOWN OFF INTO ONTO AWAY THROUGH ACROSS BELOW ABOVE BEHIND AHEAD INSIDE OUTSIDE HANDHELD
    STEADICAM AERIAL OVERHEAD"""
)
# Emphasis: pronouns, function words, numbers, time spans and adjectives that are not things.
EMPHASIS = _words(
    """NOT NEVER ALWAYS ALL EVERY ANY NONE VERY REALLY TOO SO JUST ONLY STILL AGAIN HERE THERE
    THEN IS ARE WAS WERE AM BE BEEN BEING HAS HAVE HAD DO DOES DID CAN CANT WONT DONT MUST WILL
    I ME HE HIM SHE IT THEY THEM WE US YOU WHAT WHO WHY HOW WHERE WHEN SOMETHING ANYTHING SOMEONE
    NOBODY EVERYONE ANYONE GONE DEAD ALIVE EMPTY HUGE TINY BIG SMALL WRONG RIGHT REAL FAKE
    FAST HARD LOUD QUIET BEAT PAUSE HELP WAIT LOOK GO RUN DUCK MOVE COME ONE TWO THREE FOUR FIVE
    SIX SEVEN EIGHT NINE TEN TWENTY HUNDRED THOUSAND FIRST LAST NEXT SECONDS MINUTES HOURS DAYS
    WEEKS MONTHS YEARS AGO EARLIER SUDDENLY AND OR BUT IF YET EVERYWHERE NOWHERE SOMEWHERE
    ANYWHERE TOGETHER ALONE FOREVER ONCE TWICE"""
)
# Sound cues (the convention of capitalising sounds in action).
SOUNDS = _words(
    """BANG BOOM CRASH CRACK THUD SLAM CLICK BEEP KNOCK WHOOSH SNAP SCREAM GUNSHOT GUNFIRE
    THUNDER THUNDERCLAP SIREN WAIL HONK BUZZ CREAK SHATTER THUMP POP RUMBLE CLANG CLANK HISS
    ROAR HUM SCREECH SPLASH CLATTER BLARE CRACKLE STATIC FOOTSTEP EXPLOSION EXPLODE BLAST THWACK
    WHAM BAM POW ZAP DING DONG CHIME TICK TOCK VROOM RATTLE GROWL BARK WHIMPER SOB GASP SHRIEK
    WHISTLE WHIRR WHIR CHIRP BLEEP DRIP SIZZLE SQUEAL SQUEAK THRUM SMACK CRUNCH SWOOSH WHIP
    WHACK KABOOM KAPOW THUNK CLUNK PING PSST SHH HMM TSK BZZT GRR PFFT BRR AHEM HOWL MOAN GROAN
    YELP SNARL SNORE SCRAPE CLAP"""
)
# Also objects: the bare word is a prop ("a RING"), only the inflected verb is a sound.
_SOUND_VERBS = _words("RING WHISTLE TAP CHIME BELL HORN ALARM")
# Action verbs written in caps; only their inflected forms are taken as verbs.
VERBS = _words(
    """RUN WALK JUMP FALL HIT KICK PUNCH GRAB PULL PUSH THROW CATCH DROP SHOOT FIRE STAB SLASH
    SWING DIVE CRAWL CLIMB SPIN TURN STARE GLARE FLINCH LUNGE LEAP DASH BOLT SPRINT CHARGE
    STRIKE SMASH BREAK BURST TEAR RIP SHOVE YANK SNATCH WHIRL SLIP TRIP COLLAPSE DIE KILL
    YELL SHOUT WHISPER CRY LAUGH SMILE NOD SHRUG FROWN WINCE SIGH BLINK WAKE EXPLODE VANISH
    DISAPPEAR APPEAR EMERGE ENTER EXIT LEAVE ARRIVE OPEN SHUT SLAP SHAKE TREMBLE STUMBLE
    STAGGER SCRAMBLE HURL SLAM SLIDE SLUMP SPRAWL SEIZE CLUTCH GRIP TACKLE FLEE ESCAPE ATTACK
    FREEZE DUCK DODGE SWERVE SKID BRAKE FLIP ROLL TOPPLE BLEED CHOKE COUGH SHIVER JOLT SURGE
    REACT REEL RECOIL SNAP STOMP STORM RACE HURRY PANIC ERUPT FLASH FLARE FLICKER BLAZE GLOW"""
)
_IRREGULAR_PAST = _words(
    """RAN FELL THREW CAUGHT SHOT STRUCK BROKE BROKEN TORE TORN SPUN LEAPT DOVE FROZE WOKE
    KNELT FLED SHOOK SLID SEIZED BLED BURNT SWUNG FLUNG GRABBED GONE"""
)
# Nouns that look like -ING / -ED / -LY forms.
_SHAPED_NOUNS = _words(
    """STRING SPRING CEILING BUILDING PAINTING CLOTHING WEDDING PUDDING STOCKING EARRING
    OFFERING DRAWING FEELING MORNING EVENING LIGHTNING AWNING BEDDING FILLING TOWELLING
    PACKAGING WRAPPING SIBLING DUMPLING SEEDLING HUNDRED BOBSLED FAMILY JELLY BELLY LILY
    ASSEMBLY ANOMALY BULLY RALLY TROLLEY VOLLEY"""
)
DETERMINERS = _words(
    """A AN THE HIS HER ITS THEIR MY YOUR OUR THIS THAT THESE THOSE SOME ANY EVERY EACH NO
    ANOTHER WHICH WHOSE ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE TEN SEVERAL MANY OLD NEW"""
)
SUBJECTS = _words("HE SHE IT THEY WE I YOU WHO EVERYONE SOMEONE NOBODY EVERYBODY")
_VOWELS = re.compile(r"[AEIOUY]")


def _stems(word: str) -> list[str]:
    """Candidate stems of an inflected English verb form (none for the bare word)."""
    stems = []
    for suffix in ("S", "ES", "D", "ED", "ING"):
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            stem = word[: -len(suffix)]
            stems += [stem, stem + "E"]
            if len(stem) > 2 and stem[-1] == stem[-2]:
                stems.append(stem[:-1])  # RUNNING -> RUN, GRABBED -> GRAB
    for suffix in ("IES", "IED"):
        if word.endswith(suffix):
            stems.append(word[: -len(suffix)] + "Y")  # CRIES -> CRY
    return stems


def is_sound(word: str) -> bool:
    """A sound cue: the lexicon bare or inflected, or a sound's shape (``AAAH``, ``TICK-TOCK``)."""
    if word in SOUNDS or re.search(r"([A-Z])\1\1", word):
        return True
    if any(s in SOUNDS for s in _stems(word)):
        return True
    parts = word.split("-")
    if len(parts) > 1 and all(len(p) > 1 for p in parts):
        skeletons = {_VOWELS.sub("", p) for p in parts}
        return len(skeletons) == 1 or any(p in SOUNDS for p in parts)
    return False


def is_verb(word: str) -> bool:
    """An inflected form of a listed action verb (``RUNS``, ``GRABBED``, ``FELL``)."""
    return word in _IRREGULAR_PAST or any(s in VERBS for s in _stems(word))


def _shaped_like_a_verb(word: str) -> bool:
    """-ING / -ED / -LY on a stem of three letters or more, unless a listed noun."""
    if word in _SHAPED_NOUNS:
        return False
    for suffix in ("ING", "ED", "LY"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return True
    return False


def _plural_shaped(word: str) -> bool:
    return word.endswith("S") and not word.endswith(("SS", "US", "IS"))


def not_a_thing(
    word: str, *, determined: bool, after_subject: bool, repeated: bool, modifies: bool
) -> bool:
    """Is this caps word (uppercase, possessive removed) a direction, sound, verb or emphasis?

    ``determined``: a determiner or possessive comes right before it; ``after_subject``: a
    pronoun or a character's name does; ``repeated``: the same word comes right before or
    after it (``TOOT TOOT``); ``modifies``: another caps word follows it in its run.
    """
    if word in DIRECTIONS or word in EMPHASIS or repeated or is_sound(word):
        return True
    if modifies and word.endswith(("ING", "ED", "EN")):
        return False  # "a ROWING BOAT", "FOLDED NOTE", "BROKEN GLASS": a thing's name
    if determined:  # "the BOLTS", "her RINGS", "a PAINTING": things
        return is_verb(word) and not _plural_shaped(word)
    if is_verb(word) or any(s in _SOUND_VERBS for s in _stems(word)):
        return True  # "she BOLTS", "the phone RINGS"
    return _shaped_like_a_verb(word) or (after_subject and _plural_shaped(word))
