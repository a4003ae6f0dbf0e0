//! Personal identifiers of a synthetic customer: card number, IBAN, telephone numbers and
//! national identity numbers, each in the formats people actually write them.

use rand::Rng;

use crate::checksum::{iban_from_bban, luhn_check_digit};
use crate::countries::{Country, Seg};

fn digits<R: Rng>(rng: &mut R, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

fn digit_values(s: &str) -> Vec<u32> {
    s.chars().filter_map(|c| c.to_digit(10)).collect()
}

/// A payment card number with a valid Luhn check digit: Visa (16), Mastercard (16) or
/// American Express (15).
pub(crate) fn card_number<R: Rng>(rng: &mut R) -> String {
    let roll = rng.gen_range(0..100);
    let (prefix, len) = if roll < 55 {
        ("4".to_string(), 16)
    } else if roll < 90 {
        (format!("5{}", rng.gen_range(1..=5)), 16)
    } else {
        (if rng.gen_bool(0.5) { "34" } else { "37" }.to_string(), 15)
    };
    let mut payload = prefix;
    let rest = len - 1 - payload.len();
    payload.push_str(&digits(rng, rest));
    let check = luhn_check_digit(&payload).unwrap_or(0);
    payload.push(char::from(b'0' + check));
    payload
}

/// A card number as a person might type it: grouped with spaces or dashes, or compact.
pub(crate) fn format_card<R: Rng>(rng: &mut R, card: &str) -> String {
    let groups: &[usize] = if card.len() == 15 {
        &[4, 6, 5]
    } else {
        &[4, 4, 4, 4]
    };
    match rng.gen_range(0..10) {
        0..=4 => group(card, groups, " "),
        5..=6 => group(card, groups, "-"),
        _ => card.to_string(),
    }
}

/// `s` split into `groups` (the last group takes the rest) joined by `sep`.
pub(crate) fn group(s: &str, groups: &[usize], sep: &str) -> String {
    let mut out = String::with_capacity(s.len() + groups.len() * sep.len());
    let mut rest = s;
    for (i, g) in groups.iter().enumerate() {
        if rest.is_empty() {
            break;
        }
        if i > 0 {
            out.push_str(sep);
        }
        let take = if i + 1 == groups.len() {
            rest.len()
        } else {
            (*g).min(rest.len())
        };
        let (head, tail) = rest.split_at(take);
        out.push_str(head);
        rest = tail;
    }
    out
}

/// An IBAN for the country (None where the country does not use IBAN).
pub(crate) fn iban<R: Rng>(rng: &mut R, country: &Country) -> Option<String> {
    let layout = country.bban?;
    let mut bban = String::new();
    for (i, seg) in layout.iter().enumerate() {
        match *seg {
            Seg::N(n) => bban.push_str(&digits(rng, n)),
            Seg::A(n) => {
                if i == 0 && !country.banks.is_empty() {
                    bban.push_str(country.banks[rng.gen_range(0..country.banks.len())]);
                } else {
                    for _ in 0..n {
                        bban.push(char::from(b'A' + rng.gen_range(0..26u8)));
                    }
                }
            }
            Seg::C(n) => {
                for _ in 0..n {
                    if rng.gen_bool(0.15) {
                        bban.push(char::from(b'A' + rng.gen_range(0..26u8)));
                    } else {
                        bban.push(char::from(b'0' + rng.gen_range(0..10u8)));
                    }
                }
            }
        }
    }
    iban_from_bban(country.code, &bban)
}

/// Several written forms of one telephone number of the country.
pub(crate) fn phone_variants<R: Rng>(rng: &mut R, country: &Country) -> Vec<String> {
    let plan = country.phones[rng.gen_range(0..country.phones.len())];
    let nsn = format!("{}{}", plan.prefix, digits(rng, plan.rest));
    let cc = country.phone_cc;
    let spaced = group(&nsn, plan.groups, " ");
    let mut out = vec![
        format!("+{cc} {spaced}"),
        format!("+{cc}{nsn}"),
        format!("00{cc} {spaced}"),
    ];
    if cc == "1" {
        let (a, rest) = nsn.split_at(3);
        let (b, c) = rest.split_at(3);
        out.push(format!("({a}) {b}-{c}"));
        out.push(format!("{a}-{b}-{c}"));
        out.push(format!("{a}.{b}.{c}"));
        out.push(format!("+1 ({a}) {b} {c}"));
    } else if country.trunk.is_empty() {
        out.push(spaced.clone());
        out.push(group(&nsn, plan.groups, "-"));
    } else {
        let t = country.trunk;
        out.push(format!("{t}{spaced}"));
        out.push(format!("{t}{}", group(&nsn, plan.groups, "-")));
        out.push(format!("{t}{nsn}"));
        out.push(format!("+{cc} ({t}){spaced}"));
    }
    out
}

/// A birth date as (year, month, day).
pub(crate) fn birth_date<R: Rng>(rng: &mut R) -> (u32, u32, u32) {
    (
        rng.gen_range(1950..=2004),
        rng.gen_range(1..=12),
        rng.gen_range(1..=28),
    )
}

/// Several written forms of a national identity number of the country (with valid check
/// digits where the scheme has them). Countries without a modelled scheme get a passport
/// number.
pub(crate) fn national_id_variants<R: Rng>(
    rng: &mut R,
    country: &str,
    birth: (u32, u32, u32),
) -> Vec<String> {
    let (year, month, day) = birth;
    let yy = year % 100;
    match country {
        "US" => {
            let mut area = rng.gen_range(1..900);
            if area == 666 {
                area = 665;
            }
            let g = rng.gen_range(1..100);
            let s = rng.gen_range(1..10000);
            vec![
                format!("{area:03}-{g:02}-{s:04}"),
                format!("{area:03} {g:02} {s:04}"),
                format!("{area:03}{g:02}{s:04}"),
            ]
        }
        "CA" => {
            let payload = format!("{}{}", rng.gen_range(1..8), digits(rng, 7));
            let sin = format!("{payload}{}", luhn_check_digit(&payload).unwrap_or(0));
            vec![group(&sin, &[3, 3, 3], " "), group(&sin, &[3, 3, 3], "-")]
        }
        "GB" => {
            const FIRST: &[u8] = b"ABCEGHJKLMNPRSTWXYZ";
            const SECOND: &[u8] = b"ABCEGHJKLMNPRSTWXYZ";
            let (a, b) = loop {
                let a = FIRST[rng.gen_range(0..FIRST.len())] as char;
                let b = SECOND[rng.gen_range(0..SECOND.len())] as char;
                let pair: String = [a, b].iter().collect();
                if !["BG", "GB", "NK", "KN", "TN", "NT", "ZZ"].contains(&pair.as_str()) {
                    break (a, b);
                }
            };
            let n = digits(rng, 6);
            let suffix = char::from(b'A' + rng.gen_range(0..4u8));
            vec![
                format!("{a}{b} {} {suffix}", group(&n, &[2, 2, 2], " ")),
                format!("{a}{b}{n}{suffix}"),
            ]
        }
        "IE" => {
            let n = digits(rng, 7);
            let sum: u32 = digit_values(&n)
                .iter()
                .zip((2..=8).rev())
                .map(|(d, w)| d * w)
                .sum();
            let letter = b"WABCDEFGHIJKLMNOPQRSTUV"[(sum % 23) as usize] as char;
            vec![format!("{n}{letter}")]
        }
        "DE" => {
            let payload = format!("{}{}", rng.gen_range(1..10), digits(rng, 9));
            let id = format!("{payload}{}", steuer_id_check(&payload));
            vec![group(&id, &[2, 3, 3, 3], " "), id]
        }
        "FR" => {
            let sex = rng.gen_range(1..=2);
            let dept = rng.gen_range(1..=95);
            let body = format!(
                "{sex}{yy:02}{month:02}{dept:02}{:03}{:03}",
                rng.gen_range(1..1000),
                rng.gen_range(1..1000)
            );
            let n: u64 = body.parse().unwrap_or(0);
            let key = 97 - n % 97;
            vec![
                format!("{} {key:02}", group(&body, &[1, 2, 2, 2, 3, 3], " ")),
                format!("{body}{key:02}"),
            ]
        }
        "ES" => {
            let n: u32 = rng.gen_range(10_000_000..100_000_000);
            let letter = b"TRWAGMYFPDXBNJZSQVHLCKE"[(n % 23) as usize] as char;
            vec![format!("{n}{letter}"), format!("{n}-{letter}")]
        }
        "SE" => {
            let payload = format!("{yy:02}{month:02}{day:02}{}", digits(rng, 3));
            let check = luhn_check_digit(&payload).unwrap_or(0);
            let (date, serial) = payload.split_at(6);
            let century = year / 100;
            vec![
                format!("{date}-{serial}{check}"),
                format!("{century}{date}-{serial}{check}"),
                format!("{date}{serial}{check}"),
            ]
        }
        "NL" => {
            let id = loop {
                let head = format!("{}{}", rng.gen_range(1..10), digits(rng, 7));
                let sum: u32 = digit_values(&head)
                    .iter()
                    .zip((2..=9).rev())
                    .map(|(d, w)| d * w)
                    .sum();
                let check = sum % 11;
                if check < 10 {
                    break format!("{head}{check}");
                }
            };
            vec![id.clone(), group(&id, &[4, 2, 3], ".")]
        }
        "BE" => {
            let body = format!("{yy:02}{month:02}{day:02}{:03}", rng.gen_range(1..998));
            let mut n: u64 = body.parse().unwrap_or(0);
            if year >= 2000 {
                n += 2_000_000_000;
            }
            let check = 97 - n % 97;
            vec![
                format!(
                    "{}.{}.{}-{}.{check:02}",
                    &body[0..2],
                    &body[2..4],
                    &body[4..6],
                    &body[6..9]
                ),
                format!("{body}{check:02}"),
            ]
        }
        "PL" => {
            let mm = if year >= 2000 { month + 20 } else { month };
            let payload = format!("{yy:02}{mm:02}{day:02}{}", digits(rng, 4));
            let sum: u32 = digit_values(&payload)
                .iter()
                .zip([1, 3, 7, 9].iter().cycle())
                .map(|(d, w)| d * w)
                .sum();
            vec![format!("{payload}{}", (10 - sum % 10) % 10)]
        }
        "PT" => {
            let head = format!("{}{}", rng.gen_range(1..=3), digits(rng, 7));
            let sum: u32 = digit_values(&head)
                .iter()
                .zip((2..=9).rev())
                .map(|(d, w)| d * w)
                .sum();
            let check = match 11 - sum % 11 {
                10 | 11 => 0,
                c => c,
            };
            vec![
                format!("{head}{check}"),
                group(&format!("{head}{check}"), &[3, 3, 3], " "),
            ]
        }
        "CH" => {
            let payload = format!("756{}", digits(rng, 9));
            let sum: u32 = digit_values(&payload)
                .iter()
                .enumerate()
                .map(|(i, d)| if i % 2 == 0 { *d } else { d * 3 })
                .sum();
            let id = format!("{payload}{}", (10 - sum % 10) % 10);
            vec![group(&id, &[3, 4, 4, 2], ".")]
        }
        "FI" => {
            let serial = rng.gen_range(2..900u32);
            let n: u32 = format!("{day:02}{month:02}{yy:02}{serial:03}")
                .parse()
                .unwrap_or(0);
            let check = b"0123456789ABCDEFHJKLMNPRSTUVWXY"[(n % 31) as usize] as char;
            let sign = if year >= 2000 { 'A' } else { '-' };
            vec![format!("{day:02}{month:02}{yy:02}{sign}{serial:03}{check}")]
        }
        "DK" | "NO" => vec![format!("{day:02}{month:02}{yy:02}-{}", digits(rng, 4))],
        "CZ" => loop {
            let mm = if rng.gen_bool(0.5) { month + 50 } else { month };
            let head = format!("{yy:02}{mm:02}{day:02}{}", digits(rng, 3));
            let n: u64 = head.parse().unwrap_or(0);
            let check = n % 11;
            if check < 10 {
                let (date, serial) = head.split_at(6);
                break vec![format!("{date}/{serial}{check}"), format!("{head}{check}")];
            }
        },
        _ => {
            let a = char::from(b'A' + rng.gen_range(0..26u8));
            let b = char::from(b'A' + rng.gen_range(0..26u8));
            vec![format!("{a}{b}{}", digits(rng, 7))]
        }
    }
}

/// ISO 7064 MOD 11,10 check digit of the German tax identification number.
fn steuer_id_check(payload: &str) -> u32 {
    let mut product = 10;
    for d in digit_values(payload) {
        let mut sum = (d + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = 11 - product;
    if check == 10 {
        0
    } else {
        check
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::{iban_valid, luhn_valid};
    use crate::countries::COUNTRIES;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn cards_and_ibans_are_valid() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..1000 {
            let c = card_number(&mut rng);
            assert!(luhn_valid(&c), "{c}");
            assert!(luhn_valid(&format_card(&mut rng, &c)));
        }
        for country in COUNTRIES {
            for _ in 0..50 {
                if let Some(i) = iban(&mut rng, country) {
                    assert!(iban_valid(&i), "{i}");
                }
            }
        }
    }

    #[test]
    fn national_ids_have_valid_checks() {
        let mut rng = StdRng::seed_from_u64(9);
        for _ in 0..200 {
            let b = birth_date(&mut rng);
            let se = &national_id_variants(&mut rng, "SE", b)[2];
            assert!(luhn_valid(se), "{se}");
            let ca = &national_id_variants(&mut rng, "CA", b)[0];
            assert!(luhn_valid(ca), "{ca}");
            let nl = &national_id_variants(&mut rng, "NL", b)[0];
            let d = digit_values(nl);
            let s: i64 = (0..8).map(|i| (9 - i as i64) * d[i] as i64).sum::<i64>() - d[8] as i64;
            assert_eq!(s % 11, 0, "{nl}");
            let fr = &national_id_variants(&mut rng, "FR", b)[1];
            let (body, key) = fr.split_at(13);
            let n: u64 = body.parse().unwrap();
            assert_eq!(97 - n % 97, key.parse::<u64>().unwrap());
        }
        assert_eq!(steuer_id_check("8609574271"), 9);
    }

    #[test]
    fn groups_split_correctly() {
        assert_eq!(
            group("4111111111111111", &[4, 4, 4, 4], " "),
            "4111 1111 1111 1111"
        );
        assert_eq!(group("12345", &[2, 8], "-"), "12-345");
    }
}
