#!/usr/bin/env python3
"""Independent PII corpus for crates/pii/tests/generalise.rs (issue 19).

Written from the published formats (ISO/IEC 7812 and card-scheme IIN ranges, ITU-T E.164
and national numbering plans, RFC 5322 / 791 / 4291 / 5952, the countries' own id specs:
Agenzia delle Entrate (codice fiscale, DM 23/12/1976), INSEE (NIR), BZSt (Steuer-IdNr,
ISO 7064 MOD 11,10), Rijksoverheid (BSN elfproef), MSWiA (PESEL), AT Portugal (NIF),
BOE (DNI/NIE), Belgian Rijksregister (mod 97), Skatteverket (personnummer, Luhn), HMRC
NIM39110 (NINO), postal formats of each country's post office), not from the scrubber's
rules. Deterministic: `python3 gen_generalise.py > generalise_corpus.jsonl`.

Each line is one description:
  {"kind": K, "text": T, "value": V, "allowed": [...]}  a PII value V of kind K in T;
      "allowed" lists substrings of V that may survive (a city, a name particle);
  {"kind": "lookalike", "category": C, "text": T, "value": V}  V must be kept verbatim.
"""

import json
import random
import sys

R = random.Random(19)
N = 200


def pick(xs):
    return R.choice(xs)


def digits(n):
    return "".join(str(R.randrange(10)) for _ in range(n))


# ---------------------------------------------------------------- check digits (from specs)

def luhn_check_digit(body):
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_ok(num):
    return luhn_check_digit(num[:-1]) == num[-1]


def dni_letter(n):
    return "TRWAGMYFPDXBNJZSQVHLCKE"[n % 23]


def random_date(y0=1940, y1=2005):
    y = R.randint(y0, y1)
    m = R.randint(1, 12)
    d = R.randint(1, 28)
    return y, m, d


CF_ODD = {
    **{str(i): v for i, v in enumerate([1, 0, 5, 7, 9, 13, 15, 17, 19, 21])},
    **dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ",
               [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16,
                10, 22, 25, 24, 23])),
}


def cf_check(body15):
    s = 0
    for i, ch in enumerate(body15):
        if i % 2 == 0:  # 1st, 3rd ... (odd positions, 1-based)
            s += CF_ODD[ch]
        else:
            s += int(ch) if ch.isdigit() else ord(ch) - 65
    return chr(65 + s % 26)


def cf_part(word, surname):
    w = "".join(c for c in word.upper() if c.isalpha())
    cons = [c for c in w if c not in "AEIOU"]
    vows = [c for c in w if c in "AEIOU"]
    if not surname and len(cons) >= 4:
        cons = [cons[0], cons[2], cons[3]]
    s = "".join(cons + vows) + "XXX"
    return s[:3]


def codice_fiscale():
    surname = pick(["Rossi", "Bianchi", "Esposito", "Romano", "Colombo", "Ricci", "Marino",
                    "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa",
                    "Giordano", "Rizzo", "Lombardi", "Moretti", "Fo", "Barbieri"])
    given = pick(["Marco", "Giulia", "Luca", "Francesca", "Alessandro", "Chiara", "Matteo",
                  "Sara", "Lorenzo", "Elena", "Andrea", "Paola", "Giuseppe", "Anna", "Ugo"])
    female = given[-1] == "a" and given != "Andrea"
    y, m, d = random_date()
    day = d + (40 if female else 0)
    town = pick(["H501", "F205", "F839", "L219", "A944", "G273", "D612", "Z404", "Z112",
                 "B157", "C351", "L736"])
    body = (cf_part(surname, True) + cf_part(given, False) + f"{y % 100:02d}"
            + "ABCDEHLMPRST"[m - 1] + f"{day:02d}" + town)
    if R.random() < 0.08:  # omocodia: the last digits replaced by letters
        body = body[:14] + "LMNPQRSTUV"[int(body[14])]
    cf = body + cf_check(body)
    return cf if R.random() < 0.85 else cf.lower()


def nir():
    while True:
        sex = pick("12")
        y, m, _ = random_date()
        dept = f"{R.randint(1, 95):02d}"
        if dept == "20":
            continue
        commune = f"{R.randint(1, 990):03d}"
        order = f"{R.randint(1, 999):03d}"
        body = f"{sex}{y % 100:02d}{m:02d}{dept}{commune}{order}"
        key = 97 - int(body) % 97
        k = f"{key:02d}"
        style = R.randrange(4)
        if style == 0:
            return f"{sex} {body[1:3]} {body[3:5]} {dept} {commune} {order} {k}"
        if style == 1:
            return body + k
        if style == 2:
            return f"{body} {k}"
        return f"{sex}.{body[1:3]}.{body[3:5]}.{dept}.{commune}.{order}.{k}"


def steuer_id():
    while True:
        # BZSt: 10 digits, first not 0, one digit twice or three times, the others at most
        # once; then the ISO 7064 MOD 11,10 check digit.
        ds = R.sample(range(10), 9)
        if ds[0] == 0:
            continue
        rep = R.choice(ds)
        times = 1 if R.random() < 0.7 else 2
        body = ds[:]
        for _ in range(times):
            pos = R.randrange(1, len(body) + 1)
            body.insert(pos, rep)
        body = body[:10]
        counts = [body.count(x) for x in set(body)]
        if body[0] == 0 or sorted(counts)[-1] not in (2, 3) or counts.count(2) + counts.count(3) != 1:
            continue
        prod = 10
        for x in body:
            s = (x + prod) % 10 or 10
            prod = (s * 2) % 11
        chk = 11 - prod
        if chk == 10:
            chk = 0
        s = "".join(map(str, body)) + str(chk)
        return pick([s, f"{s[:2]} {s[2:5]} {s[5:8]} {s[8:]}"])


def bsn():
    while True:
        d = [R.randrange(10) for _ in range(8)]
        s = sum(x * w for x, w in zip(d, range(9, 1, -1)))
        c = s % 11
        if c == 10 or d[0] == 0:
            continue
        n = "".join(map(str, d)) + str(c)
        return pick([n, n, f"{n[:4]}.{n[4:6]}.{n[6:]}", f"{n[:3]} {n[3:6]} {n[6:]}"])


def pesel():
    y, m, d = random_date(1930, 2012)
    mm = m + (20 if y >= 2000 else 0)
    body = f"{y % 100:02d}{mm:02d}{d:02d}{digits(4)}"
    w = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3]
    c = (10 - sum(int(x) * k for x, k in zip(body, w)) % 10) % 10
    return body + str(c)


def nif_pt():
    while True:
        body = pick("1235") + digits(7)
        s = sum(int(x) * w for x, w in zip(body, range(9, 1, -1)))
        c = 11 - s % 11
        c = 0 if c >= 10 else c
        n = body + str(c)
        return pick([n, n, f"{n[:3]} {n[3:6]} {n[6:]}", "PT" + n if R.random() < 0.3 else n])


def nrn_be():
    y, m, d = random_date(1940, 2010)
    serial = f"{R.randint(1, 998):03d}"
    body = f"{y % 100:02d}{m:02d}{d:02d}{serial}"
    base = int(body) + (2_000_000_000 if y >= 2000 else 0)
    c = f"{97 - base % 97:02d}"
    s = body + c
    return pick([f"{s[:2]}.{s[2:4]}.{s[4:6]}-{s[6:9]}.{s[9:]}", s,
                 f"{s[:6]} {s[6:9]} {s[9:]}", f"{s[:6]}-{s[6:9]}-{s[9:]}"])


def personnummer():
    y, m, d = random_date(1930, 2010)
    if R.random() < 0.1:
        d += 60  # samordningsnummer
    body = f"{y % 100:02d}{m:02d}{d:02d}{digits(3)}"
    n = body + luhn_check_digit(body)
    style = R.randrange(5)
    if style == 0:
        return f"{n[:6]}-{n[6:]}"
    if style == 1:
        return f"{y // 100}{n[:6]}-{n[6:]}"
    if style == 2:
        return f"{y // 100}{n}"
    if style == 3:
        return n
    return f"{n[:6]}-{n[6:]}"


def dni():
    if R.random() < 0.7:
        n = R.randint(1_000_000, 99_999_999)
        s = f"{n:08d}"
        return pick([s + dni_letter(n), f"{s}-{dni_letter(n)}", f"{s} {dni_letter(n)}",
                     f"{s[:2]}.{s[2:5]}.{s[5:]}-{dni_letter(n)}"])
    p = R.randrange(3)
    n = R.randint(0, 9_999_999)
    letter = dni_letter(p * 10_000_000 + n)
    return pick([f"{'XYZ'[p]}{n:07d}{letter}", f"{'XYZ'[p]}-{n:07d}-{letter}"])


def nino():
    bad1, bad2 = set("DFIQUV"), set("DFIQUVO")
    bad_pairs = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}
    while True:
        a = chr(65 + R.randrange(26))
        b = chr(65 + R.randrange(26))
        if a in bad1 or b in bad2 or a + b in bad_pairs:
            continue
        d = digits(6)
        s = pick("ABCD")
        return pick([f"{a}{b} {d[:2]} {d[2:4]} {d[4:]} {s}", f"{a}{b}{d}{s}",
                     f"{a}{b} {d} {s}", f"{a}{b}{d}{s}".lower()])


def passport():
    kind = R.randrange(9)
    if kind == 0:  # UK, US: 9 digits
        return digits(9)
    if kind == 1:  # DE Reisepass: C + 8 of [CFGHJKLMNPRTVWXYZ0-9]
        return "C" + "".join(pick("CFGHJKLMNPRTVWXYZ0123456789") for _ in range(8))
    if kind == 2:  # FR: 2 digits, 2 letters, 5 digits
        return digits(2) + pick("ABCDEFGHJK") + pick("ABCDEFGHJK") + digits(5)
    if kind == 3:  # IT: 2 letters, 7 digits
        return pick(["YA", "YB", "AA", "YC"]) + digits(7)
    if kind == 4:  # ES: 3 letters, 6 digits
        return pick(["PAA", "PAB", "AAB", "XDA"]) + digits(6)
    if kind == 5:  # NL: 9 alphanumerics, no O
        return "".join(pick("ABCDEFGHIJKLMNPQRSTUVWXYZ") for _ in range(2)) + "".join(
            pick("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(6)) + digits(1)
    if kind == 6:  # IN: letter + 7 digits
        return pick("ABJKLMNPRSTUVWZ") + digits(7)
    if kind == 7:  # CN: E + 8 digits
        return "E" + digits(8)
    return pick(["TK", "TR", "MZ"]) + digits(7)  # JP


# ---------------------------------------------------------------- cards, phones, e-mail

CARD_PREFIXES = [("4", 16), ("51", 16), ("52", 16), ("55", 16), ("2221", 16), ("2720", 16),
                 ("34", 15), ("37", 15), ("6011", 16), ("65", 16), ("3528", 16), ("62", 19),
                 ("4", 19), ("36", 14), ("5018", 19)]


def card():
    pre, length = pick(CARD_PREFIXES)
    body = pre + digits(length - len(pre) - 1)
    n = body + luhn_check_digit(body)
    style = R.randrange(7)
    if length == 15:
        groups = [n[:4], n[4:10], n[10:]]
    elif length == 14:
        groups = [n[:4], n[4:10], n[10:]]
    else:
        groups = [n[i:i + 4] for i in range(0, length, 4)]
    if style == 0:
        return "/".join(groups)
    if style == 1:
        return ".".join(groups)
    if style == 2:
        return "  ".join(groups)
    if style == 3 and length == 16:
        return f"{n[:6]} {n[6:]}"
    if style == 4:
        return " / ".join(groups)
    if style == 5:
        return "-".join(groups[:2]) + " " + "-".join(groups[2:])
    return "\u00a0".join(groups) if R.random() < 0.5 else "_".join(groups)


PHONES = [
    lambda: f"+91 {pick('6789')}{digits(4)} {digits(5)}",
    lambda: f"+91-{pick('6789')}{digits(4)}-{digits(5)}",
    lambda: f"+81 3-{digits(4)}-{digits(4)}",
    lambda: f"+81 90-{digits(4)}-{digits(4)}",
    lambda: f"+81 (0)90 {digits(4)} {digits(4)}",
    lambda: f"0049 (0)30 {digits(7)}",
    lambda: f"0049 (0)89 {digits(3)} {digits(4)}",
    lambda: f"+49 (0)30 {digits(4)} {digits(4)}",
    lambda: f"+49 151 {digits(8)}",
    lambda: f"+55 11 9{digits(4)}-{digits(4)}",
    lambda: f"+55 (11) 9{digits(4)}-{digits(4)}",
    lambda: f"+86 13{digits(1)} {digits(4)} {digits(4)}",
    lambda: f"+7 (495) {digits(3)}-{digits(2)}-{digits(2)}",
    lambda: f"+7 9{digits(2)} {digits(3)} {digits(2)} {digits(2)}",
    lambda: f"+33 (0)6 {digits(2)} {digits(2)} {digits(2)} {digits(2)}",
    lambda: f"+33 1 {digits(2)} {digits(2)} {digits(2)} {digits(2)}",
    lambda: f"+34 6{digits(2)} {digits(2)} {digits(2)} {digits(2)}",
    lambda: f"+39 06 {digits(4)} {digits(4)}",
    lambda: f"+39 3{digits(2)} {digits(3)} {digits(4)}",
    lambda: f"+31 6 {digits(8)}",
    lambda: f"+31 (0)20 {digits(3)} {digits(4)}",
    lambda: f"+48 22 {digits(3)} {digits(2)} {digits(2)}",
    lambda: f"+46 8-{digits(3)} {digits(3)} {digits(2)}",
    lambda: f"+46 70 {digits(3)} {digits(2)} {digits(2)}",
    lambda: f"+351 21 {digits(3)} {digits(4)}",
    lambda: f"+351 9{digits(2)} {digits(3)} {digits(3)}",
    lambda: f"+32 2 {digits(3)} {digits(2)} {digits(2)}",
    lambda: f"+32 4{digits(2)} {digits(2)} {digits(2)} {digits(2)}",
    lambda: f"+353 (0)87 {digits(3)} {digits(4)}",
    lambda: f"+61 4{digits(2)} {digits(3)} {digits(3)}",
    lambda: f"+27 82 {digits(3)} {digits(4)}",
    lambda: f"+234 80{digits(1)} {digits(3)} {digits(4)}",
    lambda: f"+971 50 {digits(3)} {digits(4)}",
    lambda: f"+62 812-{digits(4)}-{digits(4)}",
    lambda: f"+52 55 {digits(4)} {digits(4)}",
    lambda: f"+90 (532) {digits(3)} {digits(2)} {digits(2)}",
    lambda: f"+44 (0) 20 {digits(4)} {digits(4)}",
    lambda: f"+44 7{digits(3)} {digits(6)}",
    lambda: f"0033 6 {digits(2)} {digits(2)} {digits(2)} {digits(2)}",
    lambda: f"0091-{pick('6789')}{digits(4)}-{digits(5)}",
    lambda: f"00 44 20 {digits(4)} {digits(4)}",
    lambda: f"+1 (415) {R.randint(200, 999)}-{digits(4)}",
    lambda: f"+1.212.{R.randint(200, 999)}.{digits(4)}",
    lambda: f"+82 10-{digits(4)}-{digits(4)}",
    lambda: f"+65 {pick('89')}{digits(3)} {digits(4)}",
    lambda: f"+41 (0)44 {digits(3)} {digits(2)} {digits(2)}",
    lambda: f"+43 664 {digits(7)}",
    lambda: f"+420 {digits(3)} {digits(3)} {digits(3)}",
    lambda: f"+20 10 {digits(4)} {digits(4)}",
    lambda: f"+{pick(['30', '36', '40', '45', '47', '358'])} {digits(2)} {digits(3)} {digits(4)}",
]

LOCALS = ["john.smith", "anna.k", "jdoe", "marek.nowak", "laura_b", "p.muller", "sofia1987",
          "k.tanaka", "ahmed.h", "maria.garcia", "lucas", "eva.svensson", "tom.oconnor",
          "iris", "j.vandenberg", "chloe.martin", "nuno.silva", "olga.petrova", "ben",
          "giulia.rossi", "h.jansen", "piotr", "zoe.li", "raj.patel", "femke"]
DOMAINS = [("gmail", "com"), ("example", "com"), ("outlook", "com"), ("firma", "de"),
           ("wp", "pl"), ("libero", "it"), ("orange", "fr"), ("telia", "se"),
           ("sapo", "pt"), ("ziggo", "nl"), ("skynet", "be"), ("company", "co.uk"),
           ("uni-bonn", "de"), ("mail", "ru"), ("yahoo", "co.jp"), ("acme", "org"),
           ("posteo", "net"), ("proton", "me"), ("studio", "io"), ("seznam", "cz")]


def email_obfuscated():
    local = pick(LOCALS)
    dom, tld = pick(DOMAINS)
    tld_parts = tld.split(".")
    style = R.randrange(11)
    if style == 0:
        return f"{local} at {dom} dot {' dot '.join(tld_parts)}"
    if style == 1:
        return f"{local}[at]{dom}[dot]{'[dot]'.join(tld_parts)}"
    if style == 2:
        return f"{local}(at){dom}(dot){'(dot)'.join(tld_parts)}"
    if style == 3:
        return f"{local} [at] {dom} [dot] {' [dot] '.join(tld_parts)}"
    if style == 4:
        return f"{local} (at) {dom}.{tld}"
    if style == 5:
        return f"{local} AT {dom} DOT {' DOT '.join(tld_parts).upper()}"
    if style == 6:
        return f"{local}[at]{dom}.{tld}"
    if style == 7:
        return f"{local} @ {dom} . {' . '.join(tld_parts)}"
    if style == 8:
        return f"{local}{{at}}{dom}{{dot}}{'{dot}'.join(tld_parts)}"
    if style == 9:
        return f"{local}@{dom}[.]{'[.]'.join(tld_parts)}"
    return f"{local} at {dom}.{tld}"


def email_parts(value):
    local = value.replace("[", " ").replace("(", " ").replace("{", " ").split()[0]
    local = local.split("@")[0]
    return local


# ---------------------------------------------------------------- dates of birth

MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
    "en3": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
           "Oktober", "November", "Dezember"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"],
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"],
    "it": ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
           "settembre", "ottobre", "novembre", "dicembre"],
}


def birth_date(lang):
    y, m, d = random_date()
    if lang == "en":
        style = R.randrange(9)
        return [f"{d:02d}/{m:02d}/{y}", f"{m}/{d}/{y}", f"{y}-{m:02d}-{d:02d}",
                f"{d} {MONTHS['en'][m - 1]} {y}", f"{MONTHS['en'][m - 1]} {d}, {y}",
                f"{d:02d}-{MONTHS['en3'][m - 1]}-{y}", f"{d}.{m}.{y}",
                f"{d:02d}/{m:02d}/{y % 100:02d}", f"{d}{pick(['st', 'th'])} {MONTHS['en3'][m - 1]} {y}"][style]
    if lang == "de":
        return pick([f"{d:02d}.{m:02d}.{y}", f"{d}. {MONTHS['de'][m - 1]} {y}", f"{d}.{m}.{y}"])
    if lang == "fr":
        return pick([f"{d:02d}/{m:02d}/{y}", f"{d} {MONTHS['fr'][m - 1]} {y}"])
    if lang == "es":
        return pick([f"{d:02d}/{m:02d}/{y}", f"{d} de {MONTHS['es'][m - 1]} de {y}", f"{d:02d}-{m:02d}-{y}"])
    return pick([f"{d:02d}/{m:02d}/{y}", f"{d} {MONTHS['it'][m - 1]} {y}"])


DOB_TEMPLATES = [
    ("en", "KYC update DOB {v} verified"), ("en", "Account holder DOB: {v}"),
    ("en", "customer born {v}, address change"), ("en", "date of birth: {v} ref {ref}"),
    ("en", "Date of Birth {v} - ID check passed"), ("en", "D.O.B. {v} mismatch, call branch"),
    ("en", "born on {v}; joint account opened"), ("en", "beneficiary DOB {v}"),
    ("en", "birth date {v} needed for transfer {ref}"), ("en", "b. {v} per passport"),
    ("en", "Insurance premium, insured born {v}"), ("en", "dob:{v}"),
    ("de", "Kontoinhaber geb. {v}"), ("de", "Geburtsdatum: {v} Kundennr {ref}"),
    ("de", "geboren am {v}, Legitimation"), ("fr", "né le {v} à Lyon"),
    ("fr", "date de naissance {v}"), ("fr", "Titulaire née le {v}"),
    ("es", "fecha de nacimiento {v} titular"), ("es", "nacido el {v}"),
    ("it", "data di nascita {v}"), ("it", "nata il {v} a Roma"),
]

# ---------------------------------------------------------------- addresses

ADDR = {
    "uk": lambda: (f"{R.randint(1, 240)}{pick(['', '', 'A', 'B'])} {pick(['Baker', 'Church', 'Victoria', 'Mill', 'Station', 'Albert', 'Kings', 'Queens', 'Park', 'Elm'])} {pick(['Street', 'Road', 'Lane', 'Avenue', 'Close', 'Drive', 'Gardens', 'Crescent', 'Terrace', 'Way'])}",
                   pick(["London", "Leeds", "Bristol", "Manchester", "York", "Cardiff"]),
                   f"{pick(['SW1A', 'NW1', 'LS6', 'BS8', 'M14', 'YO1', 'CF10', 'EC2V', 'W1K'])} {R.randint(1, 9)}{pick('ABDEFGHJLNPQRSTUWXYZ')}{pick('ABDEFGHJLNPQRSTUWXYZ')}",
                   "uk"),
    "us": lambda: (f"{R.randint(10, 9800)} {pick(['Maple', 'Oak', 'Washington', 'Lincoln', 'Sunset', 'Cedar', 'Lake'])} {pick(['St', 'Ave', 'Blvd', 'Rd', 'Dr', 'Ln', 'Street', 'Avenue'])}",
                   pick(["Springfield", "Austin", "Portland", "Denver", "Columbus"]),
                   f"{pick(['IL', 'TX', 'OR', 'CO', 'OH'])} {R.randint(10000, 99999)}",
                   "us"),
    "de": lambda: (f"{pick(['Haupt', 'Bahnhof', 'Goethe', 'Schiller', 'Linden', 'Berliner ', 'Kirch', 'Garten'])}{pick(['straße', 'strasse', 'str.', 'weg', 'allee', 'platz', 'gasse', 'ring', 'damm'])} {R.randint(1, 180)}{pick(['', '', 'a', 'b'])}",
                   pick(["Berlin", "München", "Köln", "Hamburg", "Frankfurt am Main", "Leipzig"]),
                   f"{R.randint(1067, 99998):05d}",
                   "de"),
    "fr": lambda: (f"{R.randint(1, 150)}{pick(['', '', ' bis'])} {pick(['rue', 'avenue', 'boulevard', 'place', 'chemin', 'allée', 'impasse', 'quai'])} {pick(['de la Paix', 'Victor Hugo', 'des Lilas', 'du Général Leclerc', 'Jean Jaurès', 'de Rivoli', 'Pasteur', 'des Écoles'])}",
                   pick(["Paris", "Lyon", "Marseille", "Toulouse", "Nantes", "Lille"]),
                   f"{R.randint(1000, 95999):05d}",
                   "fr"),
    "es": lambda: (f"{pick(['Calle', 'C/', 'Avda.', 'Avenida', 'Plaza', 'Paseo'])} {pick(['Mayor', 'de Alcalá', 'Gran Vía', 'del Prado', 'Serrano', 'de la Castellana', 'Real'])}{pick([' ', ', '])}{R.randint(1, 250)}{pick(['', ', 3º B', ', 2º izq.', ''])}",
                   pick(["Madrid", "Barcelona", "Sevilla", "Valencia", "Bilbao", "Málaga"]),
                   f"{R.randint(1001, 52999):05d}",
                   "es"),
    "it": lambda: (f"{pick(['Via', 'Viale', 'Piazza', 'Corso', 'Vicolo'])} {pick(['Roma', 'Garibaldi', 'Giuseppe Verdi', 'Dante Alighieri', 'della Repubblica', 'Vittorio Emanuele II', 'Mazzini'])}{pick([' ', ', '])}{R.randint(1, 200)}",
                   pick(["Roma", "Milano", "Napoli", "Torino", "Bologna", "Firenze"]),
                   f"{R.randint(10, 98168):05d}",
                   "it"),
    "nl": lambda: (f"{pick(['Kerk', 'Dorps', 'Molen', 'School', 'Prinsen', 'Heren', 'Stations'])}{pick(['straat', 'laan', 'weg', 'gracht', 'plein', 'kade', 'singel'])} {R.randint(1, 300)}{pick(['', '', 'A', '-2'])}",
                   pick(["Amsterdam", "Utrecht", "Rotterdam", "Den Haag", "Eindhoven"]),
                   f"{R.randint(1000, 9999)} {pick('ABCDEGHJKLMNPRSTVWXZ')}{pick('ABCDEGHJKLMNPRSTVWXZ')}",
                   "nl"),
    "pl": lambda: (f"ul. {pick(['Marszałkowska', 'Długa', 'Polna', 'Lipowa', 'Mickiewicza', 'Kościuszki'])} {R.randint(1, 150)}{pick(['', '/' + str(R.randint(1, 60))])}",
                   pick(["Warszawa", "Kraków", "Gdańsk", "Wrocław", "Poznań"]),
                   f"{R.randint(0, 99):02d}-{R.randint(0, 999):03d}",
                   "pl"),
    "pt": lambda: (f"{pick(['Rua', 'Avenida', 'Travessa', 'Largo'])} {pick(['Augusta', 'da Liberdade', 'de Santa Catarina', 'do Ouro', 'Almirante Reis'])}, {R.randint(1, 300)}{pick(['', ' 2º Esq', ''])}",
                   pick(["Lisboa", "Porto", "Coimbra", "Braga", "Faro"]),
                   f"{R.randint(1000, 9999)}-{R.randint(0, 999):03d}",
                   "pt"),
    "se": lambda: (f"{pick(['Drottninggatan', 'Kungsgatan', 'Storgatan', 'Sveavägen', 'Hamngatan', 'Skolvägen', 'Järntorget', 'Mårten Trotzigs gränd'])} {R.randint(1, 120)}{pick(['', 'B'])}",
                   pick(["Stockholm", "Göteborg", "Malmö", "Uppsala"]),
                   f"{R.randint(100, 985)} {R.randint(0, 99):02d}",
                   "se"),
    "be": lambda: (f"{pick(['Rue', 'Avenue', 'Chaussée'])} {pick(['de la Loi', 'Louise', 'de Namur', 'Royale'])} {R.randint(1, 300)}",
                   pick(["Bruxelles", "Namur", "Liège", "Ixelles"]),
                   f"{R.randint(1000, 9999)}",
                   "be"),
}


def address():
    street, city, post, cc = ADDR[pick(list(ADDR))]()
    if street.endswith(" "):
        street = street.strip()
    style = R.random()
    if cc in ("uk",):
        full = f"{street}, {city} {post}" if style < 0.8 else f"{street}, {city}, {post}"
    elif cc == "us":
        full = f"{street}, {city}, {post}"
    elif style < 0.15:
        full = street
        return full, [], full
    else:
        full = f"{street}, {post} {city}"
    allowed = [city]
    return full, allowed, street


# ---------------------------------------------------------------- names

LATIN = [
    ("José María", "Fernández"), ("Zoë", "Ångström"), ("Søren", "Kjærgaard"), ("Łucja", "Wiśniewska"),
    ("Ana", "de la Cruz"), ("Willem", "van der Berg"), ("Ahmad", "bin Abdullah"), ("Siobhán", "O'Connor"),
    ("Seán", "Mac Giolla"), ("Giulia", "d'Alessandro"), ("Karl", "von Weizsäcker"), ("Thiago", "dos Santos"),
    ("Beatriz", "da Silva"), ("Omar", "al-Rashid"), ("Joost", "ter Horst"), ("Aoife", "Ní Bhriain"),
    ("Dvořák", "Antonín"), ("François", "Lefèvre"), ("Ümit", "Yılmaz"), ("Ingrid", "Hjørnevik"),
    ("Małgorzata", "Żak"), ("Chiara", "De Luca"), ("Jean-Baptiste", "Mbappé"), ("Nguyễn", "Thị Hương"),
    ("Ştefan", "Popescu"), ("Đorđe", "Petrović"), ("Eero", "Mäkinen"), ("Rasmus", "Højgaard"),
    ("Pieter", "de Vries"), ("Lotte", "van den Heuvel"), ("Dylan", "McAllister"), ("Mhairi", "MacLeod"),
    ("Yusuf", "ibn Khalid"), ("Björn", "Þórsson"), ("Ines", "Gonçalves"), ("Mateus", "Conceição"),
    ("Agnieszka", "Szczepańska"), ("Tomáš", "Novotný"), ("Gréta", "Kovács"), ("Ioana", "Ionescu"),
    ("Kwame", "Mensah"), ("Chidinma", "Okonkwo"), ("Amara", "Diallo"), ("Tariq", "Haddad"),
    ("Xochitl", "Quispe"), ("Aigerim", "Nurlanovna"), ("Bartholomew", "Featherstonehaugh"),
    ("Eilidh", "Drummond"), ("Anneke", "Visser"), ("Matthijs", "Bakker"), ("Jarosław", "Kaczmarek"),
]
CYRILLIC = [("Иван", "Петров"), ("Анна", "Смирнова"), ("Дмитрий", "Кузнецов"), ("Ольга", "Иванова"),
            ("Сергей", "Волков"), ("Олена", "Шевченко"), ("Мария", "Соколова"), ("Алексей", "Морозов"),
            ("Наталья", "Попова"), ("Георги", "Димитров"), ("Тарас", "Бондаренко"), ("Екатерина", "Лебедева")]
GREEK = [("Γιώργος", "Παπαδόπουλος"), ("Μαρία", "Κωνσταντίνου"), ("Νίκος", "Αλεξίου"),
         ("Ελένη", "Γεωργίου"), ("Δημήτρης", "Νικολάου"), ("Σοφία", "Παπαγεωργίου"), ("Κώστας", "Ιωάννου")]
ARABIC = [("محمد", "العلي"), ("فاطمة", "الزهراء"), ("أحمد", "حسن"), ("علي", "بن سعيد"),
          ("خالد", "المنصور"), ("نور", "الهدى"), ("يوسف", "القاسم"), ("ليلى", "عبد الله")]
CJK = ["王小明", "李娜", "张伟", "刘洋", "陈静", "田中太郎", "佐藤花子", "山田 太郎", "鈴木 一郎",
       "김민준", "이서연", "박지훈", "최유나", "高橋 健", "黄志强", "林美玲"]
DEVANAGARI = [("राहुल", "शर्मा"), ("प्रिया", "पटेल"), ("अमित", "कुमार"), ("सुनीता", "वर्मा"),
              ("विक्रम", "सिंह"), ("अनीता", "गुप्ता"), ("रोहन", "मेहता")]
UNKNOWN = [("Zephyrine", "Okwuosa"), ("Thandeka", "Mkhabela"), ("Ludovica", "Sciarappa"),
           ("Radomir", "Wojtaszek"), ("Oluwaseun", "Adeyemi"), ("Saoirse", "Ruane"),
           ("Tiihonen", "Aarni"), ("Ximena", "Huamán"), ("Ravindra", "Kulkarni"),
           ("Nkechi", "Obiora"), ("Bolat", "Sarsenbayev"), ("Ayelet", "Tzur"), ("Kaito", "Furukawa"),
           ("Mireille", "Tchoumba"), ("Gwenllian", "Pryce"), ("Jorunn", "Skjelbred")]
PARTICLES = {"de", "la", "van", "der", "den", "bin", "ibn", "von", "dos", "da", "ter", "ní", "mac",
             "d'", "al-", "del", "di"}
TITLES = ["Mr", "Mrs", "Ms", "Dr", "Dr.", "Mr.", "Herr", "Frau", "Mme", "Sr.", "Sra.", "Prof."]

LATIN_TEMPLATES = [
    "SEPA transfer to {v} ref {ref}", "Payment from {v}", "Beneficiary: {v}", "payee {v} rent",
    "Refund to customer {v}", "Standing order {v} pocket money", "Gift for {t} {v}",
    "{t} {v} - loan repayment", "Transfer {v} / invoice {ref}", "customer {v} called re card",
    "Überweisung an {v}", "Virement de {v}", "Bonifico a favore di {v}", "Transferencia a {v}",
    "Przelew od {v}", "Betaling aan {v}", "Swish {v}", "to {v} for dinner", "from {v} thanks",
    "Rent paid by {v} March", "Attn {t} {v}", "TWINT an {v}", "Remittance {v} family support",
]
SCRIPT_TEMPLATES = {
    "cyrillic": ["Перевод {v}", "Transfer to {v}", "Оплата от {v} за аренду", "payment from {v}",
                 "Получатель: {v}", "SEPA {v} ref {ref}", "Beneficiary {v}"],
    "greek": ["Μεταφορά σε {v}", "Transfer to {v}", "Πληρωμή από {v}", "Δικαιούχος: {v}",
              "payment from {v} ref {ref}"],
    "arabic": ["تحويل إلى {v}", "Transfer to {v}", "المستفيد: {v}", "payment from {v}",
               "حوالة من {v} رقم {ref}"],
    "cjk": ["转账给{v}", "Transfer to {v}", "{v}さんへ振込", "收款人：{v}", "payment from {v} ref {ref}",
            "송금 {v}", "振込 {v} 様", "beneficiary {v}"],
    "devanagari": ["भुगतान {v} को", "Transfer to {v}", "प्राप्तकर्ता: {v}", "payment from {v}",
                   "{v} से प्राप्त"],
}


def name_case():
    r = R.random()
    if r < 0.45:
        g, s = pick(LATIN + UNKNOWN)
        v = f"{g} {s}"
        style = R.random()
        if style < 0.15:
            v = v.lower()
        elif style < 0.3:
            v = v.upper()
        elif style < 0.38:
            v = f"{s}, {g}"
        t = pick(LATIN_TEMPLATES)
        allowed = [w for w in v.replace(",", "").split() if w.lower() in PARTICLES]
        return t, v, allowed
    script = pick(list(SCRIPT_TEMPLATES))
    if script == "cjk":
        v = pick(CJK)
    else:
        g, s = pick({"cyrillic": CYRILLIC, "greek": GREEK, "arabic": ARABIC,
                     "devanagari": DEVANAGARI}[script])
        v = f"{g} {s}"
    return pick(SCRIPT_TEMPLATES[script]), v, []


# ---------------------------------------------------------------- ids in context

ID_TEMPLATES = {
    "codice_fiscale": ["codice fiscale {v}", "C.F. {v} - F24 payment", "CF: {v}", "Bonifico, cod. fisc. {v}",
                       "F24 {v} IMU", "tax code {v} verified", "{v} rata mutuo"],
    "nir": ["NIR {v}", "n° sécurité sociale : {v}", "numéro de sécu {v} remboursement CPAM",
            "Sécurité sociale {v}", "INSEE {v}", "CPAM remboursement assuré {v}"],
    "steuer_id": ["Steuer-IdNr. {v}", "Steuer-ID: {v}", "IdNr {v} Einkommensteuer",
                  "Identifikationsnummer {v}", "steuerliche IdNr {v} Finanzamt", "TIN {v}"],
    "bsn": ["BSN {v}", "burgerservicenummer: {v}", "BSN-nummer {v} belastingdienst", "sofinummer {v}",
            "Burgerservicenummer {v} toeslag"],
    "pesel": ["PESEL {v}", "nr PESEL: {v}", "Przelew ZUS PESEL {v}", "{v} PESEL kredyt", "pesel {v}"],
    "nif_pt": ["NIF {v}", "contribuinte n.º {v}", "NIF: {v} fatura", "Número de contribuinte {v}",
               "nº contribuinte {v} IRS"],
    "nrn_be": ["rijksregisternummer {v}", "NN {v}", "numéro national {v}", "Rijksregister nr. {v}",
               "INSZ {v}", "N.N. {v} mutualité"],
    "personnummer": ["personnummer {v}", "pnr {v}", "Skatteverket {v}", "person nr: {v} Swish",
                     "personnr {v}"],
    "dni_es": ["DNI {v}", "NIE: {v}", "titular DNI {v}", "NIF {v} factura", "documento {v}",
               "Bizum {v}"],
    "nino": ["NI number {v}", "NINO: {v}", "National Insurance {v}", "HMRC ref NI {v}", "NI no. {v}"],
    "passport": ["passport no. {v}", "Passport number: {v}", "passport {v} KYC",
                 "Reisepass Nr. {v}", "passeport n° {v}", "pasaporte {v}", "passaporto n. {v}",
                 "PP no {v} verified", "travel document/passport #{v}"],
    "card": ["card {v} declined", "Card no {v}", "{v} chargeback", "refund to card {v}",
             "Karte {v} gesperrt", "CB {v} paiement", "tarjeta {v}", "pay with {v} exp 12/27"],
    "phone": ["call {v}", "Tel. {v}", "contact {v} re delivery", "{v} WhatsApp", "mobile: {v}",
              "payment reminder, ph {v}", "Rückruf unter {v}", "appeler le {v}", "Llamar al {v}"],
    "email": ["email {v}", "contact: {v}", "send receipt to {v}", "e-mail {v} for invoice",
              "reply to {v}", "{v} - refund", "PayPal {v}", "mail: {v}"],
    "ip_address": ["login from {v}", "online banking session IP {v}", "IP: {v} blocked",
                   "3DS from {v}", "device ip {v}", "fraud check {v} flagged", "access {v}"],
    "address": ["Delivery to {v}", "new address {v}", "Adresse: {v}", "Rent {v}",
                "Lieferadresse {v}", "domicilio {v}", "adresse {v} changement", "{v} - change of address"],
}


def ip_value():
    if R.random() < 0.5:
        a = pick([R.randint(1, 223), 10, 172, 192, 81, 185, 62, 213, 5])
        return f"{a}.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(1, 254)}"
    groups = [f"{R.randrange(65536):x}" for _ in range(8)]
    style = R.randrange(4)
    if style == 0:
        return ":".join(groups)
    if style == 1:
        return f"2001:db8:{groups[2]}::{groups[7]}"
    if style == 2:
        return f"fe80::{groups[4]}:{groups[5]}:{groups[6]}:{groups[7]}"
    return f"2a02:{groups[1]}:{groups[2]}:{groups[3]}::{groups[6]}:{groups[7]}".upper()


def ref():
    return pick(["INV-2024-0117", "RF18539007547034", "K-77120", "2024/118", "ORD 5521", "X9Q4"])


def render(t, v):
    return t.replace("{ref}", ref()).replace("{t}", pick(TITLES)).replace("{v}", v)


def pii_cases():
    out = []
    gens = {
        "codice_fiscale": codice_fiscale, "nir": nir, "steuer_id": steuer_id, "bsn": bsn,
        "pesel": pesel, "nif_pt": nif_pt, "nrn_be": nrn_be, "personnummer": personnummer,
        "dni_es": dni, "nino": nino, "passport": passport, "card": card,
        "phone": lambda: pick(PHONES)(), "email": email_obfuscated, "ip_address": ip_value,
    }
    for kind, gen in gens.items():
        for _ in range(N):
            v = gen()
            text = render(pick(ID_TEMPLATES[kind]), v)
            out.append({"kind": kind, "text": text, "value": v, "allowed": []})
    for _ in range(N):
        v, allowed, _street = address()
        out.append({"kind": "address", "text": render(pick(ID_TEMPLATES["address"]), v),
                    "value": v, "allowed": allowed})
    for _ in range(N):
        lang, t = pick(DOB_TEMPLATES)
        v = birth_date(lang)
        out.append({"kind": "date_of_birth", "text": render(t, v), "value": v, "allowed": []})
    for _ in range(N):
        t, v, allowed = name_case()
        out.append({"kind": "person_name", "text": render(t, v), "value": v, "allowed": allowed})
    return out


# ---------------------------------------------------------------- look-alikes

def ean13():
    body = pick(["40", "50", "80", "87", "54", "76", "30", "84"]) + digits(10)
    s = sum(int(x) * (3 if i % 2 else 1) for i, x in enumerate(body))
    return body + str((10 - s % 10) % 10)


def bad_iban():
    cc, n = pick([("DE", 18), ("FR", 23), ("NL", 14), ("ES", 20), ("IT", 23), ("GB", 18)])
    while True:
        body = digits(n) if cc not in ("NL", "GB") else pick(["ABNA", "INGB", "WEST", "BARC"]) + digits(n - 4)
        chk = digits(2)
        s = cc + chk + body
        rearr = body + cc + chk
        num = "".join(str(int(c, 36)) for c in rearr)
        if int(num) % 97 != 1:
            return " ".join(s[i:i + 4] for i in range(0, len(s), 4)) if R.random() < 0.6 else s


def random_not_luhn(n):
    while True:
        s = pick("3456") + digits(n - 1)
        if not luhn_ok(s):
            return s


def grouped(s):
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))


LOOKALIKES = {
    "build": [lambda: (f"build {R.randint(1, 30)}.{R.randint(0, 20)}.{R.randint(1000, 30000)}.{R.randint(1, 5000)}", "App update {v}"),
              lambda: (f"v{R.randint(1, 9)}.{R.randint(0, 30)}.{R.randint(0, 99)}", "Software licence {v} renewal"),
              lambda: (f"{R.randint(1, 12)}.{R.randint(0, 9)}.{R.randint(0, 9)}.{R.randint(0, 99)}", "firmware version {v} installed"),
              lambda: (f"{R.randint(2019, 2026)}.{R.randint(1, 12):02d}.{R.randint(1, 999)}", "Build {v} subscription")],
    "tracking": [lambda: ("1Z" + "".join(pick("0123456789ABCDEFGHJKLMNPRSTVWXYZ") for _ in range(16)), "UPS tracking {v}"),
                 lambda: (f"9400 1{digits(3)} {digits(4)} {digits(4)} {digits(4)} {digits(2)}", "USPS {v} delivered"),
                 lambda: (f"{pick(['RR', 'LX', 'CP', 'EE'])}{digits(9)}{pick(['GB', 'DE', 'CN', 'NL'])}", "Parcel {v} customs fee"),
                 lambda: (f"JJD{digits(18)}", "DHL {v}"),
                 lambda: (digits(12), "FedEx tracking number {v}"),
                 lambda: (f"3S{''.join(pick('ABCDEFGHJKLMNPQRSTUVWXYZ') for _ in range(4))}{digits(7)}", "PostNL {v} ontvangen")],
    "order": [lambda: (f"{R.randint(100, 499)}-{digits(7)}-{digits(7)}", "AMZN Mktp order {v}"),
              lambda: (f"{digits(2)}-{digits(5)}-{digits(5)}", "eBay order {v}"),
              lambda: (f"ORD-{R.randint(2019, 2026)}-{digits(6)}", "Refund {v}"),
              lambda: (f"#{digits(6)}", "Shopify order {v}"),
              lambda: (digits(11), "Order no. {v} shipped"),
              lambda: (digits(9), "Bestellung {v}"),
              lambda: (digits(10), "Zalando order {v}"),
              lambda: (f"{digits(4)} {digits(4)} {digits(4)}", "Booking reference {v}")],
    "sku": [lambda: (f"SKU-{digits(3)}-{''.join(pick('ABCDEFGHJK') for _ in range(3))}-{digits(2)}", "Return {v}"),
            lambda: (ean13(), "EAN {v} qty 2"),
            lambda: (f"{pick(['AB', 'CD', 'XL', 'MN'])}{digits(7)}", "Item {v} x1"),
            lambda: (f"{digits(6)}-{digits(3)}", "IKEA art. {v}"),
            lambda: (f"{digits(3)}.{digits(3)}.{digits(2)}", "IKEA {v} shelf")],
    "flight": [lambda: (f"{pick(['LH', 'BA', 'AF', 'KL', 'IB', 'AZ', 'FR', 'U2', 'SK', 'TP', 'LO', 'SN'])} {R.randint(1, 9999)}", "Flight {v} seat 12C"),
               lambda: (f"{pick(['LH', 'BA', 'AF', 'KL'])}{R.randint(100, 9999)}", "Boarding {v} MUC-LHR"),
               lambda: (f"{pick(['125', '220', '057', '074'])}-{digits(10)}", "e-ticket {v}"),
               lambda: (f"{''.join(pick('ABCDEFGHJKLMNPQRSTUVWXYZ') for _ in range(6))}", "PNR {v} Ryanair")],
    "invoice": [lambda: (f"INV-{R.randint(2020, 2026)}-{digits(5)}", "Payment {v}"),
                lambda: (f"{R.randint(2020, 2026)}/{digits(4)}", "Rechnung {v}"),
                lambda: (f"F-{R.randint(2020, 2026)}-{digits(4)}", "Facture {v}"),
                lambda: (f"RF{digits(2)}{digits(10)}", "Structured ref {v}"),
                lambda: (f"+++{digits(3)}/{digits(4)}/{digits(5)}+++", "Communication {v}"),
                lambda: (digits(16), "Payment reference {v}"),
                lambda: (f"{digits(3)} {digits(3)} {digits(3)}", "Fattura n. {v}")],
    "date": [lambda: (f"{R.randint(1, 28):02d}/{R.randint(1, 12):02d}/{R.randint(2019, 2027)}", "Invoice date {v}"),
             lambda: (f"{R.randint(2019, 2027)}-{R.randint(1, 12):02d}-{R.randint(1, 28):02d}", "due {v}"),
             lambda: (f"{R.randint(1, 28):02d}.{R.randint(1, 12):02d}.{R.randint(2019, 2027)}", "Abbuchung am {v}"),
             lambda: (f"{R.randint(1, 28)} {pick(MONTHS['en'])} {R.randint(2019, 2027)}", "Statement {v}"),
             lambda: (f"{R.randint(1, 28)} {pick(MONTHS['fr'])} {R.randint(2019, 2027)}", "échéance du {v}"),
             lambda: (f"{R.randint(1, 28):02d}/{R.randint(1, 12):02d}/{R.randint(2019, 2027)}", "Born Free Ltd membership renewal {v}"),
             lambda: (f"{R.randint(1, 12):02d}/{R.randint(25, 31)}", "card expiry {v}"),
             lambda: (f"{R.randint(1, 28):02d}-{pick(MONTHS['en3'])}-{R.randint(2019, 2027)}", "valid until {v}")],
    "iban_like": [lambda: (bad_iban(), "Ref {v}"), lambda: (bad_iban(), "Transfer {v} rejected")],
    "amount": [lambda: (f"{R.randint(1, 999)}.{digits(3)},{digits(2)} EUR", "Total {v}"),
               lambda: (f"EUR {R.randint(1, 999)},{digits(3)}.{digits(2)}", "Wire {v}"),
               lambda: (f"${R.randint(1, 99)},{digits(3)}.{digits(2)}", "Payroll {v}"),
               lambda: (f"{R.randint(1, 9)} {digits(3)} {digits(3)},{digits(2)} SEK", "Lön {v}"),
               lambda: (f"{digits(2)} {digits(3)},{digits(2)} zł", "Przelew {v}")],
    "card_like": [lambda: (random_not_luhn(16), "Ref {v}"),
                  lambda: (grouped(random_not_luhn(16)), "Voucher {v}"),
                  lambda: (f"**** **** **** {digits(4)}", "Card {v} payment"),
                  lambda: (f"{digits(6)}******{digits(4)}", "Masked PAN {v}")],
    "id_like": [lambda: (digits(11), "Kundennummer {v}"),
                lambda: (digits(9), "Policy {v}"),
                lambda: (f"{digits(8)}", "Mandate {v}"),
                lambda: (f"{digits(2)}.{digits(2)}.{digits(2)}-{digits(3)}.{digits(2)}", "Ticket {v}"),
                lambda: (f"{digits(6)}-{digits(4)}", "Contract {v}"),
                lambda: (f"AB{digits(6)}", "Voucher {v}"),
                lambda: (f"{''.join(pick('ABCDEFGHJKLMNPRSTVWXYZ') for _ in range(6))}{digits(2)}{pick('ABCDEHLMPRST')}{digits(2)}", "Lot {v}")],
    "ip_like": [lambda: (f"{R.randint(1, 9)}.{R.randint(0, 9)}.{R.randint(0, 9)}", "version {v} released"),
                lambda: (f"{R.randint(0, 23):02d}:{R.randint(0, 59):02d}:{R.randint(0, 59):02d}", "ATM withdrawal at {v}"),
                lambda: (f"{R.randint(300, 999)}.{R.randint(300, 999)}.{R.randint(300, 999)}.{R.randint(300, 999)}", "Batch {v}"),
                lambda: (f"{R.randint(1, 9)}.{R.randint(0, 99)}.{R.randint(0, 99)}.{R.randint(1000, 9999)}", "Build {v} deployed")],
    "place": [lambda: (pick(["Wall Street Journal", "Main Street Cafe", "Via Verde", "Rue du Commerce",
                             "Abbey Road Studios", "Oxford Street", "Gran Vía Cines", "Champs-Élysées",
                             "Station Road Garage", "Baker Street Station", "Route 66 Diner",
                             "Kurfürstendamm", "Paseo de Gracia"]), "{v} purchase"),
              lambda: (pick(["Hotel Park Lane", "Lidl Hauptstraße", "Tesco Express"]), "POS {v} 12.40 EUR"),
              lambda: (f"{R.randint(2, 40)} items", "Street food market {v}")],
    "merchant": [lambda: (pick(["Ted Baker", "Tim Hortons", "Hugo Boss", "Calvin Klein", "Marks & Spencer",
                                "Ben & Jerry's", "Jack Wolfskin", "Louis Vuitton", "Ralph Lauren",
                                "Tommy Hilfiger", "Victoria's Secret", "Dr. Oetker", "Mr Price",
                                "Papa John's", "Dunkin' Donuts", "McDonald's", "Carl's Jr",
                                "Wendy's", "Jimmy Choo", "Paul Smith", "Karl Lagerfeld", "Yves Rocher",
                                "Pizza Hut", "Burger King", "Leroy Merlin", "Bershka", "Massimo Dutti",
                                "Uber Eats", "Deliveroo", "Lieferando", "Albert Heijn", "Mercadona",
                                "Carrefour", "El Corte Inglés", "Pingo Doce", "Biedronka", "Coop Konsum",
                                "Delhaize", "Esselunga", "Monoprix"]), "CARD PAYMENT {v} 23.90")],
    "time": [lambda: (f"{R.randint(0, 23):02d}:{R.randint(0, 59):02d}", "Taxi ride {v} airport"),
             lambda: (f"{R.randint(1, 9)}h{R.randint(0, 59):02d}", "Parking {v}")],
}


def lookalikes():
    out = []
    cats = list(LOOKALIKES)
    per = 1600 // len(cats) + 1
    for c in cats:
        for _ in range(per):
            v, t = pick(LOOKALIKES[c])()
            out.append({"kind": "lookalike", "category": c, "text": t.replace("{v}", v), "value": v})
    return out


def main():
    rows = pii_cases() + lookalikes()
    for r in rows:
        assert r["value"] in r["text"], r
        for a in r.get("allowed", []):
            assert a in r["value"], r
        sys.stdout.write(json.dumps(r, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
