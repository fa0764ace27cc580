"""Value formats: how personal values look, and random values of the same format.

Exposure ranks an item's value among random candidates *of the same format*, so the
candidate generator must draw from the distribution the values come from. The demo corpus
draws its people's values from these same generators, which makes a never-seen value rank
uniformly among candidates (exposure of about 1.4 bits), as the Secret Sharer assumes.
"""

from __future__ import annotations

import random
import re
import string

KINDS = ("phone", "email", "address", "date", "employer", "text")

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
EMAIL_WORDS = (
    "amber", "brook", "cedar", "delta", "ember", "fern", "gale", "harbor", "iris", "jade",
    "kestrel", "lark", "maple", "north", "opal", "pine", "quill", "raven", "sage", "tide",
    "umber", "vale", "willow", "yarrow", "zephyr", "birch", "coral", "dune", "elm", "frost",
    "glen", "heath", "ivy", "juniper", "moss", "nova", "orchid", "pebble", "reed", "slate",
    "acorn", "badger", "bramble", "canyon", "clover", "comet", "crane", "dawn", "dusk",
    "eagle", "falcon", "finch", "flint", "fox", "garnet", "grove", "hazel", "heron", "hollow",
    "hornet", "indigo", "jasper", "koi", "lagoon", "laurel", "lilac", "lotus", "lynx",
    "marble", "meadow", "mint", "mist", "nettle", "oak", "olive", "onyx", "otter", "owl",
    "pearl", "pepper", "plum", "poppy", "prairie", "quartz", "rain", "ridge", "river", "robin",
    "rose", "ruby", "rush", "saffron", "shadow", "shore", "sparrow", "spruce", "storm",
    "summit", "swan", "thistle", "thorn", "thunder", "topaz", "trout", "tulip", "valley",
    "violet", "wave", "wren",
)  # fmt: skip
EMAIL_DOMAINS = (
    "mailbox.test", "postal.test", "inbox.test", "letters.test",
    "courier.test", "webmail.test", "notes.test", "quickmail.test",
)  # fmt: skip
STREETS = (
    "Maple", "Oak", "Cedar", "Willow", "Birch", "Elm", "Aspen", "Juniper", "Laurel",
    "Magnolia", "Hawthorn", "Sycamore", "Chestnut", "Poplar", "Alder", "Linden", "Spruce",
    "Hickory", "Cypress", "Rowan", "Acacia", "Beech", "Cherry", "Dogwood", "Fir", "Hazel",
    "Holly", "Larch", "Mulberry", "Olive", "Pine", "Redwood", "Sequoia", "Tamarack", "Walnut",
    "Yew", "Almond", "Hemlock", "Ironwood", "Sassafras",
)  # fmt: skip
STREET_TYPES = ("Street", "Avenue", "Road", "Lane", "Drive", "Court", "Place", "Way")
CITIES = (
    "Riverton", "Lakeside", "Fairview", "Brookfield", "Milltown", "Ashford", "Greenvale",
    "Hillcrest", "Stonebridge", "Westhaven", "Clearwater", "Oakridge", "Pinecrest", "Redfield",
    "Silverton", "Thornbury", "Bayport", "Cedarville", "Dunmore", "Eastwick", "Fernhill",
    "Glenwood", "Harrowgate", "Ivydale", "Kingsbury", "Longmeadow", "Marlowe", "Northfield",
    "Oldcastle", "Queensbury",
)  # fmt: skip
EMPLOYER_FIRST = (
    "Bright", "Silver", "Northern", "Golden", "Blue", "Quiet", "Swift", "Clever", "Red",
    "Green", "Solid", "Open", "Grand", "Little", "Iron", "Crystal", "Summit", "Coastal",
    "Urban", "Prairie", "Amber", "Bold", "Brave", "Calm", "Copper", "Crimson", "Distant",
    "Eastern", "Electric", "Emerald", "Fair", "Gentle", "Hidden", "Honest", "Jolly", "Lucky",
    "Modern", "Noble", "Patient", "Proud", "Rapid", "Royal", "Silent", "Simple", "Southern",
    "Steady", "Sunny", "True", "Western", "Wild", "Wise",
)  # fmt: skip
EMPLOYER_SECOND = (
    "Harbor", "Valley", "River", "Forge", "Bridge", "Meadow", "Stone", "Lantern", "Arrow",
    "Orchard", "Beacon", "Falcon", "Pioneer", "Canyon", "Compass", "Anchor", "Willow",
    "Horizon", "Peak", "Garden", "Badger", "Birch", "Castle", "Cedar", "Comet", "Crown",
    "Delta", "Eagle", "Engine", "Feather", "Fountain", "Glacier", "Granite", "Hammer",
    "Island", "Kettle", "Ladder", "Lighthouse", "Maple", "Mill", "Mountain", "Ocean", "Pebble",
    "Pine", "Prism", "Quarry", "Rocket", "Saddle", "Spring", "Tower",
)  # fmt: skip
EMPLOYER_SUFFIX = (
    "Logistics", "Software", "Bakery", "Consulting", "Analytics", "Foods", "Robotics",
    "Insurance", "Studios", "Pharmacy", "Builders", "Energy", "Textiles", "Media",
    "Outfitters", "Dental", "Airlines", "Architects", "Brewing", "Cleaning", "Clinic",
    "Design", "Electric", "Farms", "Finance", "Furniture", "Labs", "Motors", "Printing",
    "Travel",
)  # fmt: skip

_PHONE = re.compile(r"^\+?[\d\s().-]{7,}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_DATE_LONG = re.compile(r"^(" + "|".join(MONTHS) + r") \d{1,2}, \d{4}$")
_DATE_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ADDRESS = re.compile(r"^\d+ [A-Z][A-Za-z]* [A-Z][A-Za-z]*, [A-Z][A-Za-z ]+$")


def detect_kind(value: str) -> str:
    """Guess the format of a value; ``"text"`` when nothing more specific fits."""
    value = value.strip()
    if _EMAIL.match(value):
        return "email"
    if _DATE_LONG.match(value) or _DATE_ISO.match(value):
        return "date"
    if _ADDRESS.match(value):
        return "address"
    if _PHONE.match(value) and sum(c.isdigit() for c in value) >= 7:
        return "phone"
    return "text"


def random_digits(count: int, rng: random.Random, *, leading_zero: bool = True) -> str:
    """``count`` uniform random digits; the first is non-zero unless ``leading_zero``."""
    first = rng.choice(string.digits if leading_zero else string.digits[1:])
    return first + "".join(rng.choice(string.digits) for _ in range(count - 1))


def new_phone(rng: random.Random) -> str:
    """A demo phone number such as ``(415) 738-0134``: every digit uniform."""
    return f"({random_digits(3, rng)}) {random_digits(3, rng)}-{random_digits(4, rng)}"


def new_email(rng: random.Random) -> str:
    """A demo email address such as ``cedar.moss42@mailbox.test``."""
    words = f"{rng.choice(EMAIL_WORDS)}.{rng.choice(EMAIL_WORDS)}"
    return f"{words}{random_digits(2, rng)}@{rng.choice(EMAIL_DOMAINS)}"


def new_address(rng: random.Random, digits: int | None = None) -> str:
    """A demo street address such as ``742 Maple Avenue, Riverton``."""
    count = digits if digits is not None else rng.choice((2, 3, 4))
    street = f"{rng.choice(STREETS)} {rng.choice(STREET_TYPES)}"
    return f"{random_digits(count, rng, leading_zero=False)} {street}, {rng.choice(CITIES)}"


def new_date(rng: random.Random) -> str:
    """A demo birth date such as ``March 4, 1985`` (1950–2004, day 1–28)."""
    return f"{rng.choice(MONTHS)} {rng.randint(1, 28)}, {rng.randint(1950, 2004)}"


def new_employer(rng: random.Random) -> str:
    """A demo employer such as ``Bright Harbor Logistics``."""
    parts = (EMPLOYER_FIRST, EMPLOYER_SECOND, EMPLOYER_SUFFIX)
    return " ".join(rng.choice(pool) for pool in parts)


def like_phone(value: str, rng: random.Random) -> str:
    """Keep the punctuation and layout of a phone number, redraw every digit."""
    return "".join(rng.choice(string.digits) if c.isdigit() else c for c in value)


def like_email(value: str, rng: random.Random) -> str:
    """An email with the same shape: word-separator-word, digits, a pooled domain."""
    local = value.split("@", 1)[0]
    pieces = re.findall(r"[A-Za-z]+|\d+|[^A-Za-z\d]+", local)
    fresh = [_redraw_email_piece(piece, rng) for piece in pieces]
    return "".join(fresh) + "@" + rng.choice(EMAIL_DOMAINS)


def _redraw_email_piece(piece: str, rng: random.Random) -> str:
    if piece.isalpha():
        return rng.choice(EMAIL_WORDS)
    if piece.isdigit():
        return random_digits(len(piece), rng)
    return piece


def like_date(value: str, rng: random.Random) -> str:
    """A random date written the same way (long form or ISO)."""
    if _DATE_ISO.match(value.strip()):
        return f"{rng.randint(1950, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return new_date(rng)


def like_address(value: str, rng: random.Random) -> str:
    """A random address with a house number of the same length."""
    number = value.strip().split(" ", 1)[0]
    return new_address(rng, digits=len(number) if number.isdigit() else None)


def like_text(value: str, rng: random.Random) -> str:
    """Fallback: keep each character's class (digit, lower, upper), redraw it."""
    return "".join(_redraw_char(c, rng) for c in value)


def _redraw_char(char: str, rng: random.Random) -> str:
    if char.isdigit():
        return rng.choice(string.digits)
    if char.islower():
        return rng.choice(string.ascii_lowercase)
    if char.isupper():
        return rng.choice(string.ascii_uppercase)
    return char


_LIKE = {
    "phone": like_phone,
    "email": like_email,
    "address": like_address,
    "date": like_date,
    "employer": lambda _value, rng: new_employer(rng),
    "text": like_text,
}


def random_like(value: str, kind: str | None, rng: random.Random) -> str:
    """One random value of the same format as ``value``."""
    return _LIKE[kind or detect_kind(value)](value, rng)


def candidates(value: str, kind: str | None, count: int, rng: random.Random) -> list[str]:
    """``count`` distinct random values of ``value``'s format, none equal to ``value``.

    Gives up adding new ones after many repeats, so a format with a small space (a short
    text) returns fewer candidates rather than looping forever.
    """
    seen = {value}
    found: list[str] = []
    attempts = 0
    while len(found) < count and attempts < count * 20:
        attempts += 1
        fresh = random_like(value, kind, rng)
        if fresh not in seen:
            seen.add(fresh)
            found.append(fresh)
    return found
