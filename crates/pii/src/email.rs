//! E-mail address detection, including common obfuscations ("name [at] domain [dot] com").

use regex::Regex;

use crate::span::{PiiKind, PiiSpan};

pub(crate) struct EmailFinder {
    plain: Regex,
    obfuscated: Regex,
}

impl EmailFinder {
    pub(crate) fn new() -> Self {
        let plain = Regex::new(
            r"[\p{L}\p{N}_%+\-](?:[\p{L}\p{N}._%+\-]*[\p{L}\p{N}_%+\-])?@(?:[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?\.)+\p{L}{2,24}",
        )
        .expect("constant e-mail pattern");
        // "john dot smith at example dot com", "john[at]example[dot]com", "john (at)
        // example.com", "john @ example . com", "john@example[.]com".
        let obfuscated = Regex::new(
            r"(?ix)
            [\p{L}\p{N}_%+\-]+(?:(?:\.|\s*(?:\[dot\]|\(dot\)|\{dot\})\s*|\s+dot\s+)[\p{L}\p{N}_%+\-]+)*
            (?:\s*(?:\[at\]|\(at\)|\{at\}|<at>|\[@\]|\(@\))\s*|\s+at\s+|\s*@\s*)
            [\p{L}\p{N}\-]+
            (?:(?:\.|\s*(?:\[dot\]|\(dot\)|\{dot\}|\[\.\]|\(\.\))\s*|\s+dot\s+|\s\.\s)[\p{L}\p{N}\-]+)*
            (?:\.|\s*(?:\[dot\]|\(dot\)|\{dot\}|\[\.\]|\(\.\))\s*|\s+dot\s+|\s\.\s)
            (?:com|net|org|edu|gov|info|biz|io|app|dev|[a-z]{2})(?-u:\b)",
        )
        .expect("constant obfuscated e-mail pattern");
        Self { plain, obfuscated }
    }

    /// Plain addresses; callers check for '@' first.
    pub(crate) fn find(&self, text: &str, out: &mut Vec<PiiSpan>) {
        for m in self.plain.find_iter(text) {
            let next = text[m.end()..].chars().next();
            if next.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '@') {
                continue;
            }
            out.push(PiiSpan {
                kind: PiiKind::Email,
                start: m.start(),
                end: m.end(),
            });
        }
    }

    /// Obfuscated addresses; only run when `may_be_obfuscated` says so.
    pub(crate) fn find_obfuscated(&self, text: &str, out: &mut Vec<PiiSpan>) {
        for m in self.obfuscated.find_iter(text) {
            let prev = text[..m.start()].chars().next_back();
            let cue = mail_cue_before(text, m.start());
            if prev.is_some_and(|c| c.is_alphanumeric()) || !obfuscated_is_address(m.as_str(), cue)
            {
                continue;
            }
            out.push(PiiSpan {
                kind: PiiKind::Email,
                start: m.start(),
                end: m.end(),
            });
        }
    }
}

/// Webmail domains that make "name at provider dot com" an address rather than a sentence.
const PROVIDERS: &[&str] = &[
    "gmail",
    "googlemail",
    "yahoo",
    "hotmail",
    "outlook",
    "live",
    "icloud",
    "me",
    "aol",
    "proton",
    "protonmail",
    "pm",
    "gmx",
    "web",
    "mail",
    "yandex",
    "zoho",
    "orange",
    "free",
    "btinternet",
    "comcast",
    "msn",
    "fastmail",
    "hey",
    "posteo",
    "tutanota",
    "laposte",
];

/// A bracketed "[at]", "[dot]" or "[.]", or a spaced " @ ", always makes an address. With a
/// bare " at " the match is only an address when the local part looks like one (dots,
/// digits, '_', '+', or spelled-out " dot "), the domain is a known mail provider, the
/// domain is spelled out (" dot ") after an all-lower-case local part, "AT" is written in
/// capitals, or a mail cue comes before: "paid at shop.com" and "Lunch at Joe dot com" are
/// not addresses.
fn obfuscated_is_address(m: &str, cue_before: bool) -> bool {
    let lower_has = |needle: &str| {
        m.as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    };
    if [
        "[at]", "(at)", "{at}", "<at>", "[@]", "(@)", "[dot]", "(dot)", "{dot}", "[.]", "(.)", "@",
    ]
    .iter()
    .any(|a| lower_has(a))
    {
        return true;
    }
    let mut words = m.split_whitespace();
    let mut local_words = 0;
    let mut local_marks = false;
    let mut local_lower = true;
    let mut upper_at = false;
    for w in words.by_ref() {
        if w.eq_ignore_ascii_case("at") {
            upper_at = w == "AT";
            break;
        }
        local_words += 1;
        local_marks |= w
            .chars()
            .any(|c| c.is_ascii_digit() || matches!(c, '.' | '_' | '+'));
        local_lower &= !w.chars().any(char::is_uppercase);
    }
    let domain = words
        .clone()
        .next()
        .and_then(|w| w.split('.').next())
        .unwrap_or("");
    let spelled = words.any(|w| w.eq_ignore_ascii_case("dot"));
    local_words > 1
        || local_marks
        || cue_before
        || (spelled && local_lower)
        || (upper_at && local_lower)
        || PROVIDERS.iter().any(|p| p.eq_ignore_ascii_case(domain))
}

/// Words after which "name at domain.com" is an address.
const MAIL_CUES: &[&str] = &[
    "email", "e-mail", "mail", "contact", "reply", "write", "paypal",
];

fn mail_cue_before(text: &str, pos: usize) -> bool {
    let before = text
        .get(..pos)
        .unwrap_or("")
        .trim_end_matches([' ', ':', '-']);
    let word = before
        .rsplit(|c: char| c.is_whitespace())
        .next()
        .unwrap_or("");
    MAIL_CUES.iter().any(|c| c.eq_ignore_ascii_case(word))
}

/// " at " followed by a word and then '.' and a letter ("jdoe at example.com"); the spelled
/// " dot " form is caught by the " dot " check.
fn bare_at_then_domain(b: &[u8], from: usize) -> bool {
    let rest = b.get(from..).unwrap_or_default();
    let word = rest
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-')
        .count();
    word > 0
        && rest.get(word) == Some(&b'.')
        && rest.get(word + 1).is_some_and(u8::is_ascii_alphabetic)
}

/// Cheap check for the markers an obfuscated address needs (" dot ", " at ", "[at]",
/// "(dot)", " @ ", "[.]" ...).
pub(crate) fn may_be_obfuscated(text: &str) -> bool {
    // One pass, looking only after the bytes every marker starts with.
    let b = text.as_bytes();
    let lower = |i: usize| b.get(i).map_or(0, u8::to_ascii_lowercase);
    b.iter().enumerate().any(|(i, &c)| {
        let close = match c {
            b' ' => b' ',
            b'[' => b']',
            b'(' => b')',
            b'{' => b'}',
            b'<' => b'>',
            _ => return false,
        };
        let at = lower(i + 1) == b'a' && lower(i + 2) == b't' && b.get(i + 3) == Some(&close);
        let dot = lower(i + 1) == b'd'
            && lower(i + 2) == b'o'
            && lower(i + 3) == b't'
            && b.get(i + 4) == Some(&close);
        let sign = (b.get(i + 1) == Some(&b'@') || (c != b' ' && b.get(i + 1) == Some(&b'.')))
            && b.get(i + 2) == Some(&close);
        (at && c != b' ') || (dot && c != b'<') || sign || (at && bare_at_then_domain(b, i + 4))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<&str> {
        let f = EmailFinder::new();
        let mut out = Vec::new();
        f.find(s, &mut out);
        if may_be_obfuscated(s) {
            f.find_obfuscated(s, &mut out);
        }
        out.iter().map(|sp| &s[sp.start..sp.end]).collect()
    }

    #[test]
    fn plain_addresses() {
        assert_eq!(
            texts("mail John.Smith+tag@Mail.Example.co.uk."),
            ["John.Smith+tag@Mail.Example.co.uk"]
        );
        assert_eq!(texts("<jose.garcía@correo.es>"), ["jose.garcía@correo.es"]);
        assert_eq!(
            texts("a@b.c user@localhost @handle x@1.23"),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn obfuscated_addresses() {
        assert_eq!(
            texts("write to jane.doe at example dot com today"),
            ["jane.doe at example dot com"]
        );
        assert_eq!(
            texts("jane[at]example[dot]org"),
            ["jane[at]example[dot]org"]
        );
        assert!(may_be_obfuscated("x (DOT) y"));
        assert!(!may_be_obfuscated("dotted, athome"));
    }
}
