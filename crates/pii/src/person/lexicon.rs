//! The lexicon: word lists (the gazetteer files next to this module and the short lists
//! below) folded into one hash table from word to flags, plus the brand pairs. Built once
//! per process.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

const GIVEN_NAMES: &str = include_str!("given_names.txt");
const SURNAMES: &str = include_str!("surnames.txt");
const STOP_WORDS: &str = include_str!("stopwords.txt");
const BUSINESS_WORDS: &str = include_str!("business.txt");
const BRANDS: &str = include_str!("brands.txt");

const TITLES: &[&str] = &[
    "mr",
    "mrs",
    "ms",
    "miss",
    "mx",
    "dr",
    "prof",
    "herr",
    "frau",
    "mme",
    "mlle",
    "monsieur",
    "madame",
    "mademoiselle",
    "sr",
    "sra",
    "srta",
    "senor",
    "senora",
    "senorita",
    "sig",
    "sigra",
    "signor",
    "signora",
    "dott",
    "dhr",
    "mevr",
    "mevrouw",
    "pani",
    "sir",
    "rev",
    "revd",
    "herrn",
    "dra",
    "hr",
];
/// Surname particles: lower case inside a capitalised name ("Noor van Dijk").
const PARTICLES: &[&str] = &[
    "van", "von", "der", "den", "de", "del", "della", "delle", "dello", "degli", "di", "da", "das",
    "do", "dos", "du", "des", "la", "le", "les", "lo", "ten", "ter", "te", "zu", "zur", "zum",
    "al", "el", "bin", "ben", "ibn", "bint", "abu", "ap", "af", "av", "op", "ni", "nic", "ui",
];
/// Words after which a pair of capitalised words is taken for a name.
const CUES: &[&str] = &[
    "to",
    "from",
    "by",
    "for",
    "attn",
    "attention",
    "beneficiary",
    "benef",
    "payee",
    "payer",
    "recipient",
    "sender",
    "remitter",
    "name",
    "an",
    "von",
    "fur",
    "de",
    "a",
    "para",
    "pour",
    "naar",
    "aan",
    "od",
    "dla",
    "voor",
    "til",
    "fra",
    "fran",
    "av",
    "w",
    "with",
    "thanks",
    "thank",
    "reimburse",
    "dear",
    "hi",
    "hello",
    "via",
    "owner",
    "holder",
    "cardholder",
    "customer",
    "client",
    "tenant",
    "landlord",
    "contact",
    "per",
    "zugunsten",
    "favore",
    "favor",
    "favour",
    "beguenstigter",
    "begunstigter",
    "empfanger",
    "empfaenger",
    "destinataire",
    "beneficiaire",
    "beneficiario",
    "ordenante",
    "auftraggeber",
    "absender",
    "uncle",
    "aunt",
    "auntie",
    "cousin",
    "brother",
    "sister",
    "friend",
    "neighbour",
    "neighbor",
    "husband",
    "wife",
    "son",
    "daughter",
    "mum",
    "mom",
    "dad",
    "grandma",
    "grandpa",
    "nanny",
    "babysitter",
    "tutor",
    "teacher",
    "coach",
    "colleague",
    "partner",
    "boss",
    "onkel",
    "tante",
    "freund",
    "freundin",
];
/// Conjunctions: support an ambiguous given name ("... and Will Turner") but no unknown pair.
const WEAK_CUES: &[&str] = &["and", "und", "et", "y", "e", "och", "og", "en", "or", "i"];
/// Surnames that are also common nouns ("Summer Hill", "Jack Black"): still surnames, but no
/// evidence for an ambiguous given name.
const WEAK_SURNAMES: &[&str] = &[
    "hill", "hills", "wood", "woods", "brook", "brooks", "field", "fields", "lane", "park",
    "stone", "bell", "black", "white", "green", "brown", "gray", "grey", "king", "young", "long",
    "little", "west", "north", "south", "east", "rose", "bush", "church", "hall", "ford", "marsh",
    "moss", "banks", "waters", "rivers", "love", "rice", "price", "cash", "gold", "silver",
    "power", "post", "swift", "holland", "hong", "kong", "valencia", "bilbao", "du", "sharp",
    "short", "noble", "bird", "fox", "wolf", "lamb", "hunt", "day", "may", "summers", "winter",
    "spring",
];
/// A given name after these is part of a place or street ("San José", "Rue Victor Hugo").
const PLACE_PREFIXES: &[&str] = &[
    "san",
    "santa",
    "santo",
    "sao",
    "st",
    "saint",
    "sainte",
    "ste",
    "sankt",
    "fort",
    "port",
    "mount",
    "mt",
    "lake",
    "cape",
    "los",
    "las",
    "puerto",
    "villa",
    "rue",
    "calle",
    "avenida",
    "avenue",
    "piazza",
    "plaza",
    "corso",
    "viale",
    "rua",
    "ulica",
    "ul",
    "boulevard",
    "bd",
];

pub(super) const GIVEN: u16 = 1;
pub(super) const AMBIGUOUS: u16 = 1 << 1;
pub(super) const SURNAME: u16 = 1 << 2;
pub(super) const STOP: u16 = 1 << 3;
pub(super) const PARTICLE: u16 = 1 << 4;
pub(super) const TITLE: u16 = 1 << 5;
pub(super) const CUE: u16 = 1 << 6;
pub(super) const WEAK_CUE: u16 = 1 << 7;
pub(super) const PLACE: u16 = 1 << 8;
pub(super) const BUSINESS: u16 = 1 << 9;
/// A surname that is also a common noun or colour ("Hill", "Brown"): see `WEAK_SURNAMES`.
pub(super) const WEAK: u16 = 1 << 11;
/// Flags that keep a word out of the surname slot.
pub(super) const NOT_SURNAME: u16 = STOP | TITLE | CUE | WEAK_CUE | BUSINESS;

pub(super) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

pub(super) fn fnv(h: u64, b: u8) -> u64 {
    (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
}

fn fnv_str(s: &str) -> u64 {
    s.bytes().fold(FNV_OFFSET, fnv)
}

fn pair_hash(a: u64, b: u64) -> u64 {
    a.rotate_left(23) ^ b.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The keys are already FNV hashes.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = fnv(self.0, b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type HashBuild = BuildHasherDefault<Identity>;

pub(super) struct Lexicon {
    words: HashMap<u64, u16, HashBuild>,
    brands: HashSet<u64, HashBuild>,
}

fn entries(list: &str) -> impl Iterator<Item = &str> {
    list.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(str::split_whitespace)
}

impl Lexicon {
    fn build() -> Self {
        let mut words: HashMap<u64, u16, HashBuild> = HashMap::default();
        let mut add = |w: &str, f: u16| *words.entry(fnv_str(w)).or_insert(0) |= f;
        for w in entries(GIVEN_NAMES) {
            match w.strip_prefix('~') {
                Some(w) => add(w, GIVEN | AMBIGUOUS),
                None => add(w, GIVEN),
            }
        }
        for w in entries(SURNAMES) {
            add(w, SURNAME);
        }
        for w in entries(STOP_WORDS) {
            add(w, STOP);
        }
        for w in entries(BUSINESS_WORDS) {
            add(w, BUSINESS);
        }
        let small: [(&[&str], u16); 5] = [
            (TITLES, TITLE),
            (PARTICLES, PARTICLE),
            (CUES, CUE),
            (WEAK_CUES, WEAK_CUE),
            (PLACE_PREFIXES, PLACE),
        ];
        for (list, f) in small {
            for w in list {
                add(w, f);
            }
        }
        for w in WEAK_SURNAMES {
            if let Some(f) = words.get_mut(&fnv_str(w)) {
                // "Tom Holland", "Taylor Swift": a surname, though also a word.
                *f = (*f & !STOP) | SURNAME | WEAK;
            }
        }
        let brands = BRANDS
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                let (first, last) = (it.next()?, it.last()?);
                Some(pair_hash(fnv_str(first), fnv_str(last)))
            })
            .collect();
        Self { words, brands }
    }

    pub(super) fn get(&self, h: u64) -> u16 {
        self.words.get(&h).copied().unwrap_or(0)
    }

    /// The words hashed `first` and `last` start and end a listed brand.
    pub(super) fn is_brand(&self, first: u64, last: u64) -> bool {
        self.brands.contains(&pair_hash(first, last))
    }
}

pub(super) fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(Lexicon::build)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gazetteer_files_are_well_formed() {
        let folded = |w: &str| {
            w.bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'\'')
        };
        let given: HashSet<&str> = entries(GIVEN_NAMES)
            .map(|w| w.trim_start_matches('~'))
            .collect();
        assert!(given.len() >= 1500, "{} given names", given.len());
        for list in [GIVEN_NAMES, SURNAMES, STOP_WORDS, BUSINESS_WORDS, BRANDS] {
            for w in entries(list) {
                assert!(
                    folded(w.trim_start_matches('~')),
                    "{w:?} is not in folded form"
                );
            }
        }
        // Folding is what the scanner does: "Jörg" is listed as "jorg".
        let lex = lexicon();
        assert!(lex.get(fnv_str("jorg")) & GIVEN != 0);
        assert!(lex.get(fnv_str("will")) & AMBIGUOUS != 0);
    }
}
