//! Person-name pools per language, and the ASCII folding used to derive e-mail addresses.

use rand::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    En,
    De,
    Fr,
    Es,
    It,
    Nl,
    Pt,
    Pl,
    Cs,
    Sv,
    Fi,
    Ja,
}

impl Lang {
    fn pools(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Lang::En => (
                &[
                    "John",
                    "Olivia",
                    "James",
                    "Emily",
                    "Oliver",
                    "Charlotte",
                    "Jack",
                    "Amelia",
                    "Seán",
                    "Grace",
                    "Michael",
                    "Sarah",
                    "David",
                    "Emma",
                ],
                &[
                    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "O'Brien", "Walsh", "Evans",
                    "Thompson", "Murphy", "Clarke", "Wright", "Robinson", "Hughes",
                ],
            ),
            Lang::De => (
                &[
                    "Lukas",
                    "Sophie",
                    "Jürgen",
                    "Anna",
                    "Maximilian",
                    "Lena",
                    "Felix",
                    "Hannah",
                    "Jörg",
                    "Marie",
                    "Stefan",
                    "Käthe",
                ],
                &[
                    "Müller",
                    "Schmidt",
                    "Schneider",
                    "Fischer",
                    "Weiß",
                    "Becker",
                    "Schäfer",
                    "Koch",
                    "Hoffmann",
                    "Krüger",
                    "Wagner",
                    "Zimmermann",
                ],
            ),
            Lang::Fr => (
                &[
                    "Chloé",
                    "Hélène",
                    "Louis",
                    "Camille",
                    "Théo",
                    "Léa",
                    "Gabriel",
                    "Manon",
                    "François",
                    "Inès",
                    "Julien",
                    "Élodie",
                ],
                &[
                    "Dubois", "Lefèvre", "Martin", "Bernard", "Moreau", "Laurent", "Girard",
                    "Rousseau", "Fontaine", "Leroy", "Mercier", "Faure",
                ],
            ),
            Lang::Es => (
                &[
                    "José",
                    "María",
                    "Lucía",
                    "Javier",
                    "Carmen",
                    "Alejandro",
                    "Sofía",
                    "Pablo",
                    "Martín",
                    "Elena",
                    "Ángel",
                    "Nuria",
                ],
                &[
                    "García",
                    "López",
                    "Martínez",
                    "Sánchez",
                    "Pérez",
                    "Gómez",
                    "Núñez",
                    "Ruiz",
                    "Fernández",
                    "Jiménez",
                    "Díaz",
                    "Moreno",
                ],
            ),
            Lang::It => (
                &[
                    "Giulia",
                    "Marco",
                    "Francesca",
                    "Luca",
                    "Chiara",
                    "Matteo",
                    "Alessandro",
                    "Sara",
                    "Niccolò",
                    "Martina",
                ],
                &[
                    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo",
                    "Ricci", "Marino", "De Luca",
                ],
            ),
            Lang::Nl => (
                &[
                    "Daan", "Emma", "Sem", "Julia", "Lotte", "Bram", "Sanne", "Thijs", "Noor",
                    "Pieter",
                ],
                &[
                    "de Vries", "Jansen", "van Dijk", "Bakker", "Visser", "Smit", "Meijer",
                    "de Boer", "Mulder", "Peeters",
                ],
            ),
            Lang::Pt => (
                &[
                    "João", "Ana", "Tiago", "Beatriz", "Gonçalo", "Inês", "Rafael", "Mariana",
                ],
                &[
                    "Silva",
                    "Santos",
                    "Ferreira",
                    "Pereira",
                    "Oliveira",
                    "Conceição",
                    "Gonçalves",
                    "Rodrigues",
                ],
            ),
            Lang::Pl => (
                &[
                    "Łukasz",
                    "Agnieszka",
                    "Piotr",
                    "Małgorzata",
                    "Krzysztof",
                    "Zofia",
                    "Paweł",
                    "Katarzyna",
                    "Michał",
                    "Joanna",
                ],
                &[
                    "Kowalski",
                    "Nowak",
                    "Wiśniewski",
                    "Wójcik",
                    "Kowalczyk",
                    "Kamiński",
                    "Lewandowski",
                    "Zieliński",
                    "Szymański",
                    "Dąbrowski",
                ],
            ),
            Lang::Cs => (
                &[
                    "Jiří",
                    "Tereza",
                    "Jan",
                    "Lucie",
                    "Tomáš",
                    "Kateřina",
                    "Ondřej",
                    "Veronika",
                ],
                &[
                    "Novák",
                    "Svoboda",
                    "Dvořák",
                    "Černý",
                    "Procházka",
                    "Kučera",
                    "Veselý",
                    "Horák",
                ],
            ),
            Lang::Sv => (
                &[
                    "Åsa", "Erik", "Maja", "Lars", "Ingrid", "Björn", "Sigrid", "Anders", "Søren",
                    "Freja",
                ],
                &[
                    "Lindström",
                    "Andersson",
                    "Johansson",
                    "Nilsson",
                    "Bergström",
                    "Hansen",
                    "Sjöberg",
                    "Jørgensen",
                    "Larsen",
                    "Åkesson",
                ],
            ),
            Lang::Fi => (
                &["Aino", "Mikko", "Eetu", "Sanna", "Jussi", "Päivi"],
                &[
                    "Korhonen",
                    "Virtanen",
                    "Mäkinen",
                    "Nieminen",
                    "Hämäläinen",
                    "Laine",
                ],
            ),
            Lang::Ja => (
                &[
                    "Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi", "Yuto", "Sakura",
                ],
                &[
                    "Sato",
                    "Suzuki",
                    "Takahashi",
                    "Tanaka",
                    "Watanabe",
                    "Ito",
                    "Yamamoto",
                    "Nakamura",
                ],
            ),
        }
    }
}

/// A random first and last name from the language's pool.
pub(crate) fn person<R: Rng>(rng: &mut R, lang: Lang) -> (&'static str, &'static str) {
    let (first, last) = lang.pools();
    (
        first[rng.gen_range(0..first.len())],
        last[rng.gen_range(0..last.len())],
    )
}

/// Lowercase ASCII rendering of a name part for e-mail local parts: diacritics folded,
/// anything else that is not a letter or digit dropped.
pub(crate) fn ascii_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        let rep: &str = match c {
            'a'..='z' | '0'..='9' => {
                out.push(c);
                continue;
            }
            'ä' | 'æ' => "ae",
            'ö' | 'ø' => "oe",
            'ü' => "ue",
            'ß' => "ss",
            'á' | 'à' | 'â' | 'ã' | 'å' | 'ą' => "a",
            'é' | 'è' | 'ê' | 'ë' | 'ę' | 'ě' => "e",
            'í' | 'ì' | 'î' | 'ï' => "i",
            'ó' | 'ò' | 'ô' | 'õ' => "o",
            'ú' | 'ù' | 'û' | 'ů' => "u",
            'ç' | 'ć' | 'č' => "c",
            'ñ' | 'ń' => "n",
            'ł' => "l",
            'ś' | 'š' => "s",
            'ż' | 'ź' | 'ž' => "z",
            'ř' => "r",
            'ý' => "y",
            _ => "",
        };
        out.push_str(rep);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_diacritics() {
        assert_eq!(ascii_fold("Müller"), "mueller");
        assert_eq!(ascii_fold("Łukasz"), "lukasz");
        assert_eq!(ascii_fold("O'Brien"), "obrien");
        assert_eq!(ascii_fold("de Vries"), "devries");
        assert_eq!(ascii_fold("Weiß"), "weiss");
    }
}
