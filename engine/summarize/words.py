"""Word-level helpers for the extractive summarizer, all shipped in code (no downloads).

- ``STOPWORDS``: English function words, auxiliaries, pronouns, common reporting verbs and number
  words; used by TF-IDF sentence vectors and by keyword extraction, where filtering stopwords
  stands in for a part-of-speech filter (nouns and adjectives survive).
- ``KEYWORD_STOPWORDS``: those plus frequent, topic-poor nouns and adjectives.
- ``find_words``: case-preserving words with their character offsets (any script).
- ``light_stem``: a tiny English suffix stripper that merges plurals and simple inflections.
"""

from __future__ import annotations

import re

_WORDS = """
a about above across after afterwards again against all almost alone along already also although
always am among amongst an and another any anyhow anyone anything anyway anywhere are around as at
be became because become becomes becoming been before beforehand behind being below beside besides
between beyond both but by can cannot could did do does doing done down during each either else
elsewhere enough etc even ever every everyone everything everywhere except few for former formerly
from further had has have having he hence her here hereafter hereby herein hers herself him himself
his how however i if in indeed into is it its itself just last latter latterly least less let like
made make makes many may me meanwhile might mine more moreover most mostly much must my myself
namely neither never nevertheless next no nobody none noone nor not nothing now nowhere of off
often on once only onto or other others otherwise our ours ourselves out over own per perhaps
please put quite rather re really same say says said see seem seemed seeming seems several she
should since so some somehow someone something sometime sometimes somewhere still such than that the
their theirs them themselves then thence there thereafter thereby therefore therein thereupon these
they this those though through throughout thru thus to together too toward towards under until up
upon us very via was we well were what whatever when whence whenever where whereafter whereas
whereby wherein whereupon wherever whether which while whither who whoever whole whom whose why
will with within without would yet you your yours yourself yourselves
one two three four five six seven eight nine ten first second also get got go goes going gone
told tell tells according around would could should shall mr mrs ms dr yes oh ok okay s t d ll m
ve re don didn doesn isn aren wasn weren hasn haven hadn won wouldn shouldn couldn can't won't
it's i'm i've i'd i'll you're you've we're we've they're they've he's she's that's there's
what's let's who's isn't aren't wasn't weren't hasn't haven't hadn't doesn't don't didn't
wouldn't shouldn't couldn't
"""

# Frequent words that carry little topic on their own: not stopwords for sentence similarity, but
# poor keywords.
_GENERIC = """
new way year years time times week weeks day days back want wanted people thing things lot lots
month months today yesterday tomorrow number part place end use used using good bad big small
great high low long short next previous recent recently expected likely able added twice almost
once again whose
"""

STOPWORDS: frozenset[str] = frozenset(_WORDS.split())
KEYWORD_STOPWORDS: frozenset[str] = STOPWORDS | frozenset(_GENERIC.split())

_WORD = re.compile(r"\w+(?:[-'’]\w+)*")


def find_words(text: str) -> list[re.Match]:
    """Word matches (letters, digits, inner hyphens and apostrophes) in ``text``, in order."""
    return list(_WORD.finditer(text))


def light_stem(word: str) -> str:
    """Strip a few English suffixes from a lower-case word: ``profits`` -> ``profit``,
    ``companies`` -> ``company``, ``rated``/``rating`` -> ``rat`` (stems need not be words; they
    only have to agree between inflections). Short words are left alone."""
    w = word.replace("\u2019", "'")
    if w.endswith("'s"):
        w = w[:-2]
    n = len(w)
    if n <= 3:
        return w
    if w.endswith("ies") and n > 4:
        return w[:-3] + "y"
    if w.endswith("sses"):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    elif w.endswith("ing") and n > 5:
        w = w[:-3]
    elif w.endswith("ed") and n > 4:
        w = w[:-2]
    if len(w) > 3 and w[-1] == "e":
        w = w[:-1]
    return w
