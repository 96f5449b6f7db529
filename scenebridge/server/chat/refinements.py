"""What a message refines about the list: older / newer than the last one, more of it, a count, a
user, and years: a decade ("the 80s", "90's", "the seventies", "the late 70s": the whole decade),
"between 1980 and 1990" (both included), before or after a year ("before 1970": up to 1969,
"since 1990": from 1990), and Chinese decades ("八十年代"). Read on a message whose titles, scene names and negations are masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

OLDER = re.compile(r"\b(?:older|earlier|classics?|vintage|less recent|(?<!years )old)\b", re.IGNORECASE)
NEWER = re.compile(r"\b(?:newer|more recent|recent|modern|latest|later ones|something new|new ones|less old)\b",
                   re.IGNORECASE)
MORE = re.compile(r"\b(?:more(?!\s+(?:recent|modern|than|older|newer))|next|others|what else|"
                  r"anything else|another)\b", re.IGNORECASE)
BEFORE = re.compile(r"\b(before|older than|earlier than|until|up to|pre)[\s-]+(?:the\s+year\s+)?(\d{4})\b",
                    re.IGNORECASE)
AFTER = re.compile(r"\b(after|newer than|later than|since|post)[\s-]+(?:the\s+year\s+)?(\d{4})\b", re.IGNORECASE)
DECADE = re.compile(r"(?:\b(?:early|mid|late)[\s-]+)?(?<![\w'])'?(19|20)?([0-9])0'?s\b", re.IGNORECASE)
DECADE_WORDS = {"twenties": 1920, "thirties": 1930, "forties": 1940, "fifties": 1950, "sixties": 1960,
                "seventies": 1970, "eighties": 1980, "nineties": 1990, "noughties": 2000}
DECADE_WORD = re.compile(r"\b(?:the\s+(?:(?:early|mid|late)[\s-]+)?(?:nineteen[\s-]*)?|nineteen[\s-]*)("
                         + "|".join(DECADE_WORDS) + r")\b",
                         re.IGNORECASE)
# Chinese decades: "八十年代" / "80年代" / "1980年代" (the 1980s; 一 to 九 read as the 1910s-1990s).
DECADE_ZH = re.compile(r"(?:(19|20)?([1-9])0|([一二三四五六七八九])十)年代")
ZH_DIGITS = {c: n for n, c in enumerate("一二三四五六七八九", start=1)}
BETWEEN = re.compile(r"\b(?:between|from)\s+(?:the\s+years?\s+)?(\d{4})\s*(?:and|to|until|till|through|-|–)\s*"
                     r"(\d{4})\b|\b(\d{4})\s*[-–]\s*(\d{4})\b", re.IGNORECASE)
# A count: digits or a word from two to twenty ("one" is too common: "the first one"), after a verb
# of asking, before a film word, or before a scene name (masked: "Name 4 sci-fi films" reads
# "Name 4    -        ").
NUMBER_WORDS = {w: n for n, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve "
                                           "thirteen fourteen fifteen sixteen seventeen eighteen nineteen "
                                           "twenty".split()) if n >= 2}
_NUMBER = r"(\d{1,2}|" + "|".join(NUMBER_WORDS) + r")"
COUNT = re.compile(r"\b(?:top|give me|show me|list|name|recommend|suggest|want|need|get me|pick|find me)\s+"
                   + _NUMBER + r"\b|\b" + _NUMBER + r"\s+(?:more\s+)?(?:films?|movies?|titles?|picks?|"
                   r"recommendations?|suggestions?|options?|ideas?|more|others)\b|\b" + _NUMBER
                   + r"(?=\s{2,}|\s+-\s{2,})", re.IGNORECASE)
USER = re.compile(r"\buser(?:\s+id)?\s*[:#]?\s*([A-Za-z0-9][\w.-]*\d[\w.-]*)", re.IGNORECASE)


@dataclass
class Refinements:
    older: bool = False
    newer: bool = False
    more: bool = False
    min_year: int | None = None
    max_year: int | None = None
    k: int | None = None
    user: str | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)  # where they stand: what the topic is not


def read_refinements(masked: str) -> Refinements:
    found = Refinements()
    read = found.spans
    read += [m.span() for pattern in (OLDER, NEWER, MORE) for m in pattern.finditer(masked)]
    found.older = bool(OLDER.search(masked))
    found.newer = bool(NEWER.search(masked)) and not found.older
    found.more = bool(MORE.search(masked))
    between = BETWEEN.search(masked)
    if between:
        low, high = sorted(int(y) for y in between.groups() if y)
        found.min_year, found.max_year = low, high
        read.append(between.span())
    for match in BEFORE.finditer(masked) if not between else ():
        year = int(match.group(2))
        found.max_year = year if match.group(1).lower() in ("until", "up to") else year - 1
        read.append(match.span())
    for match in AFTER.finditer(masked) if not between else ():
        year = int(match.group(2))
        found.min_year = year if match.group(1).lower() == "since" else year + 1
        read.append(match.span())
    decade, words, chinese = DECADE.search(masked), DECADE_WORD.search(masked), DECADE_ZH.search(masked)
    if (decade or words or chinese) and found.min_year is None and found.max_year is None:
        if decade:
            century = int(decade.group(1)) if decade.group(1) else (19 if int(decade.group(2)) >= 2 else 20)
            found.min_year = century * 100 + int(decade.group(2)) * 10
        elif words:
            found.min_year = DECADE_WORDS[words.group(1).lower()]
        else:
            tens = int(chinese.group(2)) if chinese.group(2) else ZH_DIGITS[chinese.group(3)]
            found.min_year = int(chinese.group(1) or 19) * 100 + tens * 10
        found.max_year = found.min_year + 9
    read += [m.span() for pattern in (DECADE, DECADE_WORD, DECADE_ZH) for m in pattern.finditer(masked)]
    count = COUNT.search(masked)
    if count:
        number = next(g for g in count.groups() if g)
        found.k = int(number) if number.isdigit() else NUMBER_WORDS[number.lower()]
        read.append(count.span())
    user = USER.search(masked)
    if user:
        found.user = user.group(1)
        read.append(user.span())
    return found
