//! scrub: the PII scrubber on arbitrary text.

use crate::scrubber;
use pfm_pii::{PiiKind, PiiSpan};

/// Splits a corpus file into (customer name, text): `name\0text`, or all text when there
/// is no NUL. Invalid UTF-8 is replaced, so every input exercises the scrubber.
pub fn scrub_input(data: &[u8]) -> (Option<String>, String) {
    let all = String::from_utf8_lossy(data);
    match all.split_once('\0') {
        Some((name, text)) => (Some(name.to_owned()), text.to_owned()),
        None => (None, all.into_owned()),
    }
}

/// The scrubber on arbitrary text and name: spans sorted, disjoint, non-empty and on char
/// boundaries; deterministic; `scrub`, `scrub_cow` and `redact_all` agree with `find`; the
/// output is the text with each span replaced by its token; found cards, IBANs and e-mail
/// addresses do not survive, and the scrubber finds none in the text it kept.
pub fn check_scrub(data: &[u8]) {
    let (name, text) = scrub_input(data);
    let sc = scrubber();
    let spans = sc.find(&text, name.as_deref());
    check_spans(&text, &spans);

    // `scrub` finds again, so this also checks that finding is deterministic.
    let scrubbed = sc.scrub(&text, name.as_deref());
    assert_eq!(scrubbed.spans, spans, "scrub and find disagree");
    let want = replaced(&text, &spans);
    assert_eq!(scrubbed.text, want, "not the text with spans replaced");
    let cow = sc.scrub_cow(&text, name.as_deref());
    assert_eq!(cow, want);
    assert_eq!(
        matches!(cow, std::borrow::Cow::Borrowed(_)),
        spans.is_empty()
    );
    check_no_leaks(&text, &spans, &scrubbed.text);
    check_output_clean(&spans, &scrubbed.text, name.as_deref());

    let anonymous = sc.find(&text, None);
    check_spans(&text, &anonymous);
    assert_eq!(sc.redact_all(&text), replaced(&text, &anonymous));
    // Not checked: that the name only adds findings. The first pass finds the same non-name
    // spans with or without it, but a "[NAME]" token changes the context of later passes
    // (a phone number next to it may then not be found again).
}

/// `text` with each span replaced by its kind's token (spans already checked).
pub(crate) fn replaced(text: &str, spans: &[PiiSpan]) -> String {
    let mut out = String::new();
    let mut last = 0;
    for sp in spans {
        out.push_str(&text[last..sp.start]);
        out.push_str(sp.kind.token());
        last = sp.end;
    }
    out.push_str(&text[last..]);
    out
}

/// Searching the scrubbed output again finds no card, IBAN or e-mail address in the text
/// the scrub kept (only, possibly, across a replacement token such as "[CARD]").
pub(crate) fn check_output_clean(spans: &[PiiSpan], scrubbed: &str, name: Option<&str>) {
    // Byte ranges of the tokens in the output.
    let mut tokens = Vec::with_capacity(spans.len());
    let (mut orig, mut out) = (0usize, 0usize);
    for s in spans {
        out += s.start - orig;
        tokens.push((out, out + s.kind.token().len()));
        out += s.kind.token().len();
        orig = s.end;
    }
    for f in scrubber().find(scrubbed, name) {
        if matches!(f.kind, PiiKind::CardNumber | PiiKind::Iban | PiiKind::Email) {
            assert!(
                tokens.iter().any(|&(a, b)| f.start < b && a < f.end),
                "{} {:?} left in the scrubbed text {scrubbed:?}",
                f.kind,
                &scrubbed[f.start..f.end]
            );
        }
    }
}

pub(crate) fn check_spans(text: &str, spans: &[PiiSpan]) {
    for s in spans {
        assert!(s.start < s.end && s.end <= text.len(), "{s:?} in {text:?}");
        assert!(
            text.is_char_boundary(s.start) && text.is_char_boundary(s.end),
            "{s:?} not on char boundaries in {text:?}"
        );
    }
    for w in spans.windows(2) {
        assert!(
            w[0].end <= w[1].start,
            "unsorted or overlapping {w:?} in {text:?}"
        );
    }
}

/// A found card, IBAN or e-mail address does not appear in the scrubbed output, unless the
/// same characters also occur in the text outside every finding (e.g. inside a longer digit
/// run the scrubber rightly did not flag: "41111111111111111" holds "4111111111111111").
pub(crate) fn check_no_leaks(text: &str, spans: &[PiiSpan], scrubbed: &str) {
    for s in spans {
        if !matches!(s.kind, PiiKind::CardNumber | PiiKind::Iban | PiiKind::Email) {
            continue;
        }
        let found = &text[s.start..s.end];
        let unflagged_copy = text
            .char_indices()
            .map(|(i, _)| i)
            .filter(|&i| text[i..].starts_with(found))
            .any(|i| {
                let end = i + found.len();
                spans.iter().all(|o| end <= o.start || o.end <= i)
            });
        assert!(
            unflagged_copy || !scrubbed.contains(found),
            "{} {found:?} survives in {scrubbed:?}",
            s.kind
        );
    }
}
