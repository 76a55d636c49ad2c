"""What a DX7 voice name says about the sound: an abbreviation-aware instrument vocabulary.

Real DX7 names are 10 characters, mostly upper case, abbreviated and padded with numbers
and punctuation ("E.PIANO 1", "BRASS   2", "SYN-LEAD 1", "HARPSICH 2", "TUB BELLS",
"Ac.StlGtr1"). :func:`classify_name` returns the :class:`NamedInstrument` the name states,
or None when it states none ("TEQUILA", "N.Y. 50", "INIT VOICE").

How a name is read (docs/default-benchmark.md, "Captions"):

1. **Tokens**: split on every non-letter, at lower→upper case changes ("BsEPiano" →
   BS, E, PIANO) and upper→Capitalised ("EPiano" → E, PIANO); upper-cased.
2. **Words**: each token is looked up in :data:`VOCABULARY` — exact entries ("EP", "BS",
   "STR"), then prefix entries (a token starting with "HARPS" is a harpsichord, "PIAN" a
   piano, "ORGA" an organ; the longest prefix wins, so "BASSOON" is a reed, not a bass),
   then glued compounds ending in a head word ("SYNBRASS", "glassbell", "STRUMBANJO").
   Two-token phrases come first: "E PIANO"/"E P" (electric piano), "BASS DRUM", "COW BELL",
   "TUB BELLS", "T BL", "B DRM", "STEEL DRUM", "PAN FLUTE".
3. **Choice**: the first *specific* instrument in reading order wins ("BRS-CHIME" is
   brass, "HARP-FLUTE" a harp); *weak* words — SYN/SYNTH, LEAD, PAD, PERC, ORCH, and the
   like — only decide when nothing specific is named ("SYN-LEAD 1" is a synth lead,
   "PERC ORGAN" an organ, "SYN-ORCH" an orchestra).

The family is the coarse class used for agreement checks; the label is the word a caption
uses ("trumpet" is family ``brass``). The vocabulary is data: extend it in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["FAMILIES", "VOCABULARY", "NamedInstrument", "classify_name", "name_tokens"]

#: every family :func:`classify_name` can return
FAMILIES: tuple[str, ...] = (
    "piano",
    "epiano",
    "organ",
    "harpsichord",
    "clav",
    "mallet",
    "bell",
    "plucked",
    "bass",
    "strings",
    "brass",
    "reed",
    "flute",
    "choir",
    "percussion",
    "fx",
    "lead",
    "pad",
    "synth",
)


@dataclass(frozen=True)
class NamedInstrument:
    """What a name states: ``family`` (one of :data:`FAMILIES`), the caption's ``label``,
    and the ``token`` it was read from."""

    family: str
    label: str
    token: str
    weak: bool = False


# (family, label, weak) per word. Keys: "=WORD" exact, "WORD*" prefix, "WORD" both.
_V: dict[str, tuple[str, str]] = {
    # keyboards
    "PIAN*": ("piano", "piano"),
    "PNO": ("piano", "piano"),
    "PN": ("piano", "piano"),
    "GRAND": ("piano", "grand piano"),
    "HONKY*": ("piano", "honky-tonk piano"),
    "CP": ("epiano", "electric grand piano"),
    "CP70": ("epiano", "electric grand piano"),
    "CP80": ("epiano", "electric grand piano"),
    "EP": ("epiano", "electric piano"),
    "EPIAN*": ("epiano", "electric piano"),
    "EPNO": ("epiano", "electric piano"),
    "RHOD*": ("epiano", "electric piano"),
    "RHODOS": ("epiano", "electric piano"),
    "DYNO*": ("epiano", "electric piano"),
    "WURL*": ("epiano", "electric piano"),
    "TINE*": ("epiano", "electric piano"),
    "ORG": ("organ", "organ"),
    "ORGA*": ("organ", "organ"),
    "ORGN": ("organ", "organ"),
    "PIPE*": ("organ", "pipe organ"),
    "HAMMOND*": ("organ", "organ"),
    "HAMOND*": ("organ", "organ"),
    "DRAWBAR*": ("organ", "organ"),
    "LESLIE*": ("organ", "organ"),
    "CALIOPE": ("organ", "calliope"),
    "CALLIOPE": ("organ", "calliope"),
    "CHURCH": ("organ", "church organ"),
    "HARPS*": ("harpsichord", "harpsichord"),
    "HRPSCH*": ("harpsichord", "harpsichord"),
    "HPSCD": ("harpsichord", "harpsichord"),
    "CEMBAL*": ("harpsichord", "harpsichord"),
    "CLAV*": ("clav", "clavinet"),
    # mallets and bells
    "VIB": ("mallet", "vibraphone"),
    "VIBE*": ("mallet", "vibraphone"),
    "VIBRAPH*": ("mallet", "vibraphone"),
    "MARIMB*": ("mallet", "marimba"),
    "MARIM*": ("mallet", "marimba"),
    "XYLO*": ("mallet", "xylophone"),
    "GLOCK*": ("mallet", "glockenspiel"),
    "GLOK*": ("mallet", "glockenspiel"),
    "CELEST*": ("mallet", "celesta"),
    "KALIMBA*": ("mallet", "kalimba"),
    "MBIRA": ("mallet", "kalimba"),
    "BELL*": ("bell", "bell"),
    "BEL": ("bell", "bell"),
    "BELS": ("bell", "bell"),
    "CHIME*": ("bell", "chime"),
    "CHIMS": ("bell", "chime"),
    "CARILLON*": ("bell", "bell"),
    "GAMELAN*": ("bell", "gamelan"),
    "GLASSHARP": ("bell", "glass harp"),
    # plucked strings
    "GTR": ("plucked", "guitar"),
    "GT": ("plucked", "guitar"),
    "GUIT*": ("plucked", "guitar"),
    "GUITR": ("plucked", "guitar"),
    "NYLON": ("plucked", "guitar"),
    "BANJ*": ("plucked", "banjo"),
    "KOTO*": ("plucked", "koto"),
    "SITAR*": ("plucked", "sitar"),
    "LUTE": ("plucked", "lute"),
    "MANDO*": ("plucked", "mandolin"),
    "HARP": ("plucked", "harp"),
    "HARPE": ("plucked", "harp"),
    "HARPJE": ("plucked", "harp"),
    "SHAMISEN": ("plucked", "shamisen"),
    "SAMISEN": ("plucked", "shamisen"),
    "ZITHER": ("plucked", "zither"),
    "DULCIMER": ("plucked", "dulcimer"),
    "UKULELE": ("plucked", "ukulele"),
    "PIZZ*": ("strings", "pizzicato strings"),
    # bass
    "BASS*": ("bass", "bass"),
    "BASSDR*": ("percussion", "bass drum"),
    "BASSES": ("bass", "bass"),
    "BS": ("bass", "bass"),
    "BSS": ("bass", "bass"),
    "BAS": ("bass", "bass"),
    "FRETLES*": ("bass", "fretless bass"),
    "SLAP*": ("bass", "slap bass"),
    # bowed strings
    "STR": ("strings", "strings"),
    "STRS": ("strings", "strings"),
    "STRG*": ("strings", "strings"),
    "STRNG*": ("strings", "strings"),
    "STRIN*": ("strings", "strings"),
    "VIOLIN*": ("strings", "violin"),
    "VLN": ("strings", "violin"),
    "VIOLA": ("strings", "viola"),
    "CELLO*": ("strings", "cello"),
    "FIDDLE*": ("strings", "fiddle"),
    "ENSEMBLE": ("strings", "string ensemble"),
    # brass
    "BRASS*": ("brass", "brass"),
    "BRS": ("brass", "brass"),
    "BRSS": ("brass", "brass"),
    "BR": ("brass", "brass"),
    "TRUMP*": ("brass", "trumpet"),
    "TRUMPT": ("brass", "trumpet"),
    "TRP": ("brass", "trumpet"),
    "TPT": ("brass", "trumpet"),
    "TROMB*": ("brass", "trombone"),
    "TRB": ("brass", "trombone"),
    "TBN": ("brass", "trombone"),
    "HORN*": ("brass", "horn"),
    "HRN": ("brass", "horn"),
    "TUBA*": ("brass", "tuba"),
    "FLUGEL*": ("brass", "flugelhorn"),
    "CORNET*": ("brass", "cornet"),
    "FANFARE*": ("brass", "brass"),
    # reeds and free reeds
    "SAX*": ("reed", "saxophone"),
    "CLARI*": ("reed", "clarinet"),
    "CLRNT": ("reed", "clarinet"),
    "OBOE*": ("reed", "oboe"),
    "BASSOON*": ("reed", "bassoon"),
    "BASSON*": ("reed", "bassoon"),
    "FAGOTT*": ("reed", "bassoon"),
    "REED*": ("reed", "reed"),
    "HARMONICA*": ("reed", "harmonica"),
    "HRMNCA*": ("reed", "harmonica"),
    "HARMNCA*": ("reed", "harmonica"),
    "ACCORD*": ("reed", "accordion"),
    "ACCRDN": ("reed", "accordion"),
    "BANDONEON": ("reed", "bandoneon"),
    "BAGPIPE*": ("reed", "bagpipe"),
    "MUSETTE": ("reed", "accordion"),
    # flutes
    "FLUTE*": ("flute", "flute"),
    "FLT": ("flute", "flute"),
    "FLUT": ("flute", "flute"),
    "FLUTOS": ("flute", "flute"),
    "FLUTES": ("flute", "flute"),
    "PICC*": ("flute", "piccolo"),
    "RECORD*": ("flute", "recorder"),
    "RECDR": ("flute", "recorder"),
    "PANFL*": ("flute", "pan flute"),
    "PANPIPE*": ("flute", "pan flute"),
    "OCARINA*": ("flute", "ocarina"),
    "WHISTLE*": ("flute", "whistle"),
    "SHAKUHACHI": ("flute", "shakuhachi"),
    "SHAKU*": ("flute", "shakuhachi"),
    "FIFE": ("flute", "fife"),
    # voices
    "CHOIR*": ("choir", "choir"),
    "CHOIRS": ("choir", "choir"),
    "VOX": ("choir", "voice"),
    "VOICE": ("choir", "voice"),
    "VOICES": ("choir", "voices"),
    "VOCAL*": ("choir", "voice"),
    "AAH*": ("choir", "choir"),
    "AHH*": ("choir", "choir"),
    "OOH*": ("choir", "choir"),
    "HUMAN*": ("choir", "voice"),
    "CHORALE": ("choir", "choir"),
    # percussion
    "DRUM*": ("percussion", "drum"),
    "DRM": ("percussion", "drum"),
    "DRMS": ("percussion", "drums"),
    "SNARE*": ("percussion", "snare drum"),
    "SNAR": ("percussion", "snare drum"),
    "SNR": ("percussion", "snare drum"),
    "KICK*": ("percussion", "kick drum"),
    "BD": ("percussion", "bass drum"),
    "SD": ("percussion", "snare drum"),
    "TOM": ("percussion", "tom"),
    "TOMS": ("percussion", "toms"),
    "TOMTOM": ("percussion", "tom"),
    "CYMB*": ("percussion", "cymbal"),
    "CYM": ("percussion", "cymbal"),
    "HIHAT*": ("percussion", "hi-hat"),
    "CLAP": ("percussion", "hand clap"),
    "CLAPS": ("percussion", "hand claps"),
    "TIMPAN*": ("percussion", "timpani"),
    "TIMP": ("percussion", "timpani"),
    "CONGA*": ("percussion", "conga"),
    "BONGO*": ("percussion", "bongo"),
    "TABLA*": ("percussion", "tabla"),
    "COWBELL*": ("percussion", "cowbell"),
    "CASTAN*": ("percussion", "castanets"),
    "CASTEN*": ("percussion", "castanets"),
    "WOODBLOCK*": ("percussion", "wood block"),
    "BLOCK": ("percussion", "wood block"),
    "TAMBOUR*": ("percussion", "tambourine"),
    "SHAKER*": ("percussion", "shaker"),
    "GONG*": ("percussion", "gong"),
    "TRIANGLE": ("percussion", "triangle"),
    "CLAVES": ("percussion", "claves"),
    "MARACA*": ("percussion", "maracas"),
    "TIMBAL*": ("percussion", "timbales"),
    "AGOGO": ("percussion", "agogo"),
    # sound effects
    "FX": ("fx", "sound effect"),
    "SFX": ("fx", "sound effect"),
    "EFFECT*": ("fx", "sound effect"),
    "EFX": ("fx", "sound effect"),
    "RAIN": ("fx", "rain effect"),
    "THUNDER*": ("fx", "thunder effect"),
    "STORM*": ("fx", "storm effect"),
    "WATERDROP*": ("fx", "water-drop effect"),
    "BUBBLE*": ("fx", "bubbling effect"),
    "EXPLO*": ("fx", "explosion effect"),
    "EXPLOSION*": ("fx", "explosion effect"),
    "LASER*": ("fx", "laser effect"),
    "GUN*": ("fx", "gunshot effect"),
    "SIREN*": ("fx", "siren effect"),
    "HELICOPTER*": ("fx", "helicopter effect"),
    "HELI": ("fx", "helicopter effect"),
    "TRAIN": ("fx", "train effect"),
    "LOCOMOTIVE": ("fx", "train effect"),
    "KLAXON": ("fx", "klaxon effect"),
    "ALARM*": ("fx", "alarm effect"),
    "AMBULANCE": ("fx", "siren effect"),
    "MOTORCYCLE": ("fx", "engine effect"),
    "MOTERCYCLE": ("fx", "engine effect"),
    "ENGINE*": ("fx", "engine effect"),
    "JET": ("fx", "jet effect"),
    "WIND": ("fx", "wind effect"),
    "SURF": ("fx", "surf effect"),
    "OCEAN*": ("fx", "ocean effect"),
    "BIRD*": ("fx", "bird effect"),
    "ZAP*": ("fx", "zap effect"),
    "NOISE*": ("fx", "noise effect"),
    "TELEPHONE": ("fx", "telephone effect"),
    "PHONE": ("fx", "telephone effect"),
    "UFO": ("fx", "sound effect"),
    "PF": ("piano", "piano"),
    "PIANET": ("epiano", "electric piano"),
    "CLAVECIN": ("harpsichord", "harpsichord"),
    "STRGUIT*": ("plucked", "twelve-string guitar"),
    "DIGITAR": ("plucked", "guitar"),
    "TROMP*": ("brass", "trumpet"),
    "CLARN*": ("reed", "clarinet"),
    "CRASH*": ("percussion", "crash cymbal"),
    "STG": ("strings", "strings"),
    "STGS": ("strings", "strings"),
    "MALLET*": ("mallet", "mallet percussion"),
    "SHIYAMISEN": ("plucked", "shamisen"),
    "CRICKET*": ("fx", "cricket effect"),
    "OOO*": ("choir", "choir"),
    "PLUK*": ("plucked", "pluck"),
    "VIBRA*": ("mallet", "vibraphone"),
    "ORGUE*": ("organ", "organ"),
    "SANTOOR*": ("plucked", "santoor"),
    "SANTUR": ("plucked", "santoor"),
    "SYAMISEN": ("plucked", "shamisen"),
    "MACHINEGUN*": ("fx", "machine-gun effect"),
    "PATROL": ("fx", "siren effect"),
    "KETTLE*": ("percussion", "timpani"),
    "VIOLON*": ("strings", "violin"),
    "GUIRO*": ("percussion", "guiro"),
    "BONGAS": ("percussion", "bongos"),
    "SINGIN*": ("choir", "voice"),
    "SINGER*": ("choir", "voice"),
    "WOODWIND*": ("reed", "woodwinds"),
    "ENGLISHORN": ("reed", "English horn"),
    "ENGLISHHORN": ("reed", "English horn"),
    "TUBULAR*": ("bell", "tubular bells"),
    "HARMONIUM*": ("reed", "harmonium"),
    "EUPHONIUM*": ("brass", "euphonium"),
    "CABASA": ("percussion", "cabasa"),
    "TAIKO*": ("percussion", "taiko drum"),
    "BALAFON*": ("mallet", "balafon"),
    # weak words: they decide only when nothing specific is named
    "SYN": ("synth", "synth"),
    "SYNTH*": ("synth", "synth"),
    "SYNT": ("synth", "synth"),
    "LEAD*": ("lead", "synth lead"),
    "LD": ("lead", "synth lead"),
    "SOLO": ("lead", "solo synth"),
    "PAD*": ("pad", "synth pad"),
    "PERC*": ("percussion", "percussion"),
    "ORCH*": ("strings", "orchestra"),
    "ORCHESTRA*": ("strings", "orchestra"),
    "PLUCK*": ("plucked", "pluck"),
}
_WEAK = {"SYN", "SYNTH*", "SYNT", "LEAD*", "LD", "SOLO", "PAD*", "PERC*", "ORCH*"}
_WEAK |= {"ORCHESTRA*", "PLUCK*", "PLUK*", "BR", "GT", "PN", "BAS", "BEL", "TOM"}

#: the vocabulary as ``(key, family, label, weak)``; ``KEY*`` matches as a prefix
VOCABULARY: tuple[tuple[str, str, str, bool], ...] = tuple(
    (k, fam, label, k in _WEAK) for k, (fam, label) in _V.items()
)
for _k, (_fam, _label) in _V.items():  # the vocabulary is data: catch typos at import
    if _fam not in FAMILIES:
        raise ValueError(f"voicenames: {_k!r} has unknown family {_fam!r}")

_EXACT = {k.rstrip("*"): (fam, label, k in _WEAK) for k, (fam, label) in _V.items()}
_PREFIX = sorted(
    ((k[:-1], fam, label, k in _WEAK) for k, (fam, label) in _V.items() if k.endswith("*")),
    key=lambda e: -len(e[0]),
)
#: head words recognised at the end of a glued compound ("SYNBRASS", "GLASSBELL")
_HEADS = (
    "BRASS",
    "BASS",
    "BELLS",
    "BELL",
    "PIANO",
    "ORGAN",
    "STRINGS",
    "STRING",
    "FLUTE",
    "GUITAR",
    "HARP",
    "BANJO",
    "CLAV",
    "HORNS",
    "HORN",
    "DRUM",
    "DRUMS",
    "CHOIR",
    "VOX",
    "PAD",
    "LEAD",
    "MARIMBA",
    "VIBES",
    "PIPES",
    "SITAR",
    "KOTO",
    "CHIME",
    "CHIMES",
)
#: glued prefixes stripped before a second lookup ("SYNORGAN", "EPIANO" is in the table)
_GLUE = ("SYNTH", "SYN", "ELEC", "DIGI", "FM", "DX", "ANA", "E")
#: two-token phrases, checked before single tokens
_PHRASES: dict[tuple[str, str], tuple[str, str]] = {
    ("E", "PIANO"): ("epiano", "electric piano"),
    ("E", "PNO"): ("epiano", "electric piano"),
    ("E", "PIAN"): ("epiano", "electric piano"),
    ("E", "P"): ("epiano", "electric piano"),
    ("EL", "PIANO"): ("epiano", "electric piano"),
    ("ELEC", "PIANO"): ("epiano", "electric piano"),
    ("ELECTRIC", "PIANO"): ("epiano", "electric piano"),
    ("ELEC", "GRAND"): ("epiano", "electric grand piano"),
    ("E", "GRAND"): ("epiano", "electric grand piano"),
    ("E", "ORGAN"): ("organ", "electric organ"),
    ("E", "BASS"): ("bass", "electric bass"),
    ("ELEC", "BASS"): ("bass", "electric bass"),
    ("E", "GTR"): ("plucked", "electric guitar"),
    ("E", "GUITAR"): ("plucked", "electric guitar"),
    ("A", "PNO"): ("piano", "acoustic piano"),
    ("A", "PIANO"): ("piano", "acoustic piano"),
    ("BASS", "DRUM"): ("percussion", "bass drum"),
    ("BASS", "DRM"): ("percussion", "bass drum"),
    ("B", "DRUM"): ("percussion", "bass drum"),
    ("B", "DRM"): ("percussion", "bass drum"),
    ("COW", "BELL"): ("percussion", "cowbell"),
    ("COW", "BELLS"): ("percussion", "cowbell"),
    ("TUB", "BELLS"): ("bell", "tubular bells"),
    ("TUB", "BELL"): ("bell", "tubular bells"),
    ("T", "BL"): ("bell", "tubular bells"),
    ("T", "BELLS"): ("bell", "tubular bells"),
    ("STEEL", "DRUM"): ("percussion", "steel drum"),
    ("STEEL", "PAN"): ("percussion", "steel drum"),
    ("CHURCH", "BELL"): ("bell", "church bell"),
    ("CHURCH", "BELLS"): ("bell", "church bells"),
    ("CHURCH", "BEL"): ("bell", "church bell"),
    ("WIND", "CHIME"): ("bell", "wind chimes"),
    ("WIND", "CHIMES"): ("bell", "wind chimes"),
    ("STEEL", "DRUMS"): ("percussion", "steel drums"),
    ("STL", "DRUM"): ("percussion", "steel drum"),
    ("STEEL", "GTR"): ("plucked", "steel-string guitar"),
    ("STEEL", "GUITAR"): ("plucked", "steel-string guitar"),
    ("PAN", "FLUTE"): ("flute", "pan flute"),
    ("PAN", "PIPES"): ("flute", "pan flute"),
    ("MUSIC", "BOX"): ("bell", "music box"),
    ("HI", "HAT"): ("percussion", "hi-hat"),
    ("WOOD", "BLOCK"): ("percussion", "wood block"),
    ("MAC", "GUN"): ("fx", "machine-gun effect"),
    ("TEL", "CALL"): ("fx", "telephone effect"),
    ("STRING", "BASS"): ("bass", "string bass"),
    ("STR", "BASS"): ("bass", "string bass"),
    ("WIND", "ENS"): ("reed", "wind ensemble"),
    ("WIND", "ENSEMBLE"): ("reed", "wind ensemble"),
    ("FRENCH", "HORN"): ("brass", "French horn"),
    ("ENGLISH", "HORN"): ("reed", "English horn"),
    ("GLASS", "HARP"): ("bell", "glass harp"),
    ("TOY", "PIANO"): ("piano", "toy piano"),
}
#: tokens that make a name say nothing, whatever else it holds ("INIT VOICE")
_ELECTRIC = {"E", "EL", "ELEC", "ELECT", "ELECTRIC", "ELECTRO"}
_NOTHING = {"ORGANIC", "INIT", "INITVOICE", "NULL", "EMPTY", "BLANK", "UNUSED"}

_TWELVE = re.compile(r"(?<!\d)12\s*-?\s*STR(?!ING\s*S)")


def name_tokens(name: str) -> list[str]:
    """Upper-case word tokens of a voice name (non-letters, digits and case changes
    separate tokens): ``"Ac.StlGtr1"`` → ``["AC", "STL", "GTR"]``."""
    tokens: list[str] = []
    for chunk in re.split(r"[^A-Za-z]+", name):
        if not chunk:
            continue
        if chunk.isupper() or chunk.islower():
            tokens.append(chunk.upper())
            continue
        # mixed case: "BsEPiano" -> Bs, E, Piano; "EPiano" -> E, Piano; "ElecBass" -> Elec, Bass
        for part in re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+", chunk):
            tokens.append(part.upper())
    return tokens


def _lookup(token: str) -> tuple[str, str, bool] | None:
    if token in _EXACT:
        return _EXACT[token]
    for prefix, fam, label, weak in _PREFIX:
        if token.startswith(prefix) and len(token) >= len(prefix):
            return fam, label, weak
    return None


def _word(token: str) -> tuple[str, str, bool] | None:
    """A single token's meaning: table, glued prefix stripped, or a compound's head."""
    hit = _lookup(token)
    if hit is not None:
        return hit
    for glue in _GLUE:
        rest = token[len(glue) :]
        if token.startswith(glue) and len(rest) >= 3:
            hit = _lookup(rest)
            if hit is not None and not hit[2]:
                if glue == "E" and hit[0] == "piano":
                    return "epiano", "electric piano", False
                return hit
    for head in _HEADS:
        if len(token) > len(head) + 2 and token.endswith(head):
            hit = _lookup(head)
            if hit is not None:
                return hit
    return None


def classify_name(name: str | None) -> NamedInstrument | None:
    """The instrument a voice name states, or None (see the module docstring)."""
    if not name:
        return None
    if _TWELVE.search(name.upper()):
        return NamedInstrument("plucked", "twelve-string guitar", "12 STRING")
    tokens = name_tokens(name)
    if any(t in _NOTHING for t in tokens) or tokens[:2] == ["INIT", "VOICE"]:
        return None
    found: list[NamedInstrument] = []
    i = 0
    while i < len(tokens):
        pair = tuple(tokens[i : i + 2])
        if len(pair) == 2 and pair in _PHRASES:
            fam, label = _PHRASES[pair]  # type: ignore[index]
            found.append(NamedInstrument(fam, label, " ".join(pair)))
            i += 2
            continue
        hit = _word(tokens[i])
        if hit is not None and hit[0] == "piano" and i > 0 and tokens[i - 1] in _ELECTRIC:
            hit = ("epiano", "electric piano", False)
        if hit is not None:
            found.append(NamedInstrument(hit[0], hit[1], tokens[i], weak=hit[2]))
        i += 1
    strong = [f for f in found if not f.weak]
    if strong:
        return strong[0]
    if not found:
        return None
    # only weak words: the most telling one ("SYN-LEAD" is a lead, "SYN-ORCH" an orchestra)
    for f in found:
        if f.family != "synth":
            return f
    return found[0]
