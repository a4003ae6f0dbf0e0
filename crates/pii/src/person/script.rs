//! Names written in scripts other than Latin: Cyrillic, Greek, Arabic, Hebrew, Devanagari,
//! Chinese, Japanese and Korean ("Transfer to Иван Петров", "转账给王小明", "تحويل إلى محمد
//! العلي", "भुगतान राहुल शर्मा को").
//!
//! A European bank's descriptions are written in Latin script; words in another script are
//! nearly always a counterparty's name, or the few words around it (transfer, to, from,
//! beneficiary, an honorific). So a run of such words, once the listed function words are
//! stripped from both ends, is taken for a name when it has the shape of one:
//!
//! * Cyrillic and Greek (cased): two to four capitalised words ("Анна Смирнова");
//! * Arabic, Hebrew, Devanagari (no case): one to four words;
//! * Han, kana, Hangul (no spaces): two to five characters ("王小明", "山田 太郎", "김민준")
//!   next to a cue or an honorific, which are stripped ("转账给王小明", "王小明さんへ振込",
//!   "收款人：李娜"), or after a Latin cue word ("Transfer to 王小明"); CJK text without one
//!   ("電話", "支付宝 订单") is not a name.
//!
//! Accepted limit (ADR 0016): a merchant written in one of these scripts with the shape of a
//! name ("星巴克", two capitalised Cyrillic words) is scrubbed as a name too.

use crate::fold::fold_char;
use crate::span::{PiiKind, PiiSpan};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Script {
    /// Cyrillic, Greek: names are capitalised.
    Cased,
    /// Arabic, Hebrew, Devanagari: words separated by spaces, no case.
    Spaced,
    /// Han, kana, Hangul.
    Cjk,
}

fn script(c: char) -> Option<Script> {
    match c {
        '\u{0370}'..='\u{03FF}' | '\u{1F00}'..='\u{1FFF}' | '\u{0400}'..='\u{052F}' => {
            Some(Script::Cased)
        }
        '\u{0590}'..='\u{05FF}'
        | '\u{0600}'..='\u{06FF}'
        | '\u{0750}'..='\u{077F}'
        | '\u{0900}'..='\u{097F}' => Some(Script::Spaced),
        '\u{1100}'..='\u{11FF}'
        | '\u{3040}'..='\u{30FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{AC00}'..='\u{D7AF}'
        | '\u{F900}'..='\u{FAFF}' => Some(Script::Cjk),
        _ => None,
    }
}

/// Function words around names (transfer, to, from, payment, beneficiary, rent ...), in
/// their folded (lower-case) form. CJK entries are stripped as prefixes and suffixes.
const FUNCTION_WORDS: &[&str] = &[
    // Russian, Ukrainian, Bulgarian
    "перевод",
    "переказ",
    "превод",
    "оплата",
    "платеж",
    "платёж",
    "плащане",
    "от",
    "від",
    "для",
    "получатель",
    "одержувач",
    "получател",
    "отправитель",
    "плательщик",
    "за",
    "аренду",
    "по",
    "договору",
    "счет",
    "счёт",
    "возврат",
    "на",
    "в",
    "и",
    "с",
    "зарплата",
    "имя",
    // Greek
    "μεταφορα",
    "σε",
    "προς",
    "πληρωμη",
    "απο",
    "δικαιουχος",
    "για",
    "ενοικιο",
    "και",
    "στον",
    "στην",
    "τον",
    "την",
    "του",
    "της",
    // Arabic
    "تحويل",
    "إلى",
    "الى",
    "من",
    "المستفيد",
    "حوالة",
    "رقم",
    "دفع",
    "لصالح",
    "إيجار",
    "راتب",
    "مبلغ",
    "و",
    "عن",
    "السيد",
    "السيدة",
    // Hebrew
    "העברה",
    "אל",
    "מאת",
    "תשלום",
    "עבור",
    // Hindi
    "भुगतान",
    "को",
    "से",
    "प्राप्त",
    "प्राप्तकर्ता",
    "का",
    "की",
    "के",
    "ने",
    "किराया",
    "वेतन",
    "हस्तांतरण",
    "और",
    "जी",
    "श्री",
    "श्रीमती",
];

/// Cues and honorifics glued to CJK names, longest first within each group.
const CJK_AFFIXES: &[&str] = &[
    "汇款给",
    "付款给",
    "转账给",
    "收款人",
    "付款人",
    "受取人",
    "振込先",
    "수취인",
    "받는분",
    "转账",
    "汇款",
    "付款",
    "转给",
    "振込",
    "振替",
    "送金",
    "송금",
    "입금",
    "이체",
    "先生",
    "女士",
    "小姐",
    "さん",
    "から",
    "より",
    "的账户",
    "账户",
    "给",
    "様",
    "へ",
    "の",
    "的",
    "님",
    "씨",
    "께",
];

struct Word {
    start: usize,
    end: usize,
    script: Script,
}

/// Pushes a name span for every non-Latin name in `text`.
pub(super) fn find(text: &str, out: &mut Vec<PiiSpan>) {
    let mut run: [Option<Word>; 8] = Default::default();
    let mut n = 0;
    let mut last_end: Option<usize> = None;
    // The previous CJK run was nothing but a cue ("收款人" before "：李娜").
    let mut cue_run = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let Some(s) = script(c) else { continue };
        let mut end = i + c.len_utf8();
        while let Some(&(j, d)) = chars.peek() {
            if script(d) != Some(s) {
                break;
            }
            end = j + d.len_utf8();
            chars.next();
        }
        let gap = last_end.and_then(|e| text.get(e..i));
        let joined = matches!(gap, Some(" " | "\u{3000}"))
            && n > 0
            && run
                .get(n - 1)
                .and_then(Option::as_ref)
                .is_some_and(|w| w.script == s);
        if (!joined || n == run.len()) && n > 0 {
            cue_run = emit(text, &run[..n], cue_run, out);
            n = 0;
        }
        if last_end.is_some_and(|e| e + 4 < i) {
            cue_run = false;
        }
        run[n] = Some(Word {
            start: i,
            end,
            script: s,
        });
        n += 1;
        last_end = Some(end);
    }
    if n > 0 {
        emit(text, &run[..n], cue_run, out);
    }
}

/// Latin cue words before a name in another script ("Transfer to 王小明").
const LATIN_CUES: &[&str] = &[
    "to",
    "from",
    "by",
    "beneficiary",
    "payee",
    "payer",
    "recipient",
    "sender",
    "customer",
    "attn",
    "mr",
    "mrs",
    "ms",
    "dr",
    "an",
    "von",
    "de",
    "a",
    "para",
    "naar",
    "aan",
    "pour",
    "for",
    "name",
    "client",
    "holder",
];

fn latin_cue_before(text: &str, pos: usize) -> bool {
    let before = text
        .get(..pos)
        .unwrap_or("")
        .trim_end_matches([' ', ':', '.']);
    let word = before
        .rsplit(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    LATIN_CUES.iter().any(|c| c.eq_ignore_ascii_case(word))
}

fn is_function_word(w: &str) -> bool {
    let folded: String = w.chars().map(fold_char).collect();
    FUNCTION_WORDS.contains(&w) || FUNCTION_WORDS.contains(&folded.as_str())
}

/// Judges one run of words in one script; returns whether it was nothing but a CJK cue.
fn emit(text: &str, run: &[Option<Word>], after_cue_run: bool, out: &mut Vec<PiiSpan>) -> bool {
    let words: Vec<&Word> = run.iter().flatten().collect();
    let Some(first) = words.first() else {
        return false;
    };
    let word = |w: &Word| text.get(w.start..w.end).unwrap_or("");
    if first.script == Script::Cjk {
        let (Some(a), Some(b)) = (words.first(), words.last()) else {
            return false;
        };
        let Some((s, e)) = strip_cjk(text, a.start, b.end) else {
            return true;
        };
        let cued = (s, e) != (a.start, b.end) || after_cue_run || latin_cue_before(text, a.start);
        let chars = text
            .get(s..e)
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_whitespace())
            .count();
        if cued && (2..=5).contains(&chars) {
            push(out, s, e);
        }
        return false;
    }
    // Strip function words from both ends; split at one inside ("Оплата от Анна Смирнова за").
    let mut seg: Vec<&Word> = Vec::new();
    for w in words.iter().copied().chain(std::iter::once(&Word {
        start: 0,
        end: 0,
        script: first.script,
    })) {
        if w.end == 0 || is_function_word(word(w)) {
            if let (Some(a), Some(b)) = (seg.first(), seg.last()) {
                let cased_ok = first.script != Script::Cased
                    || (seg.len() >= 2 && seg.iter().all(|x| capitalised(word(x))));
                if cased_ok && seg.len() <= 4 {
                    push(out, a.start, b.end);
                }
            }
            seg.clear();
        } else {
            seg.push(w);
        }
    }
    false
}

fn capitalised(w: &str) -> bool {
    let mut cs = w.chars();
    cs.next().is_some_and(char::is_uppercase) && cs.any(char::is_lowercase)
}

/// The CJK text between `start` and `end` without the cues and honorifics at its ends.
fn strip_cjk(text: &str, mut start: usize, mut end: usize) -> Option<(usize, usize)> {
    loop {
        let s = text.get(start..end)?.trim();
        let lead = text.get(start..end)?.len() - text.get(start..end)?.trim_start().len();
        start += lead;
        end = start + s.len();
        let mut changed = false;
        for a in CJK_AFFIXES {
            let cur = text.get(start..end)?;
            if cur.starts_with(a) && cur.len() > a.len() {
                start += a.len();
                changed = true;
            } else if cur.ends_with(a) && cur.len() > a.len() {
                end -= a.len();
                changed = true;
            } else if cur == *a {
                return None;
            }
        }
        if !changed {
            let cur = text.get(start..end)?;
            let trimmed = cur.trim_end();
            return Some((start, start + trimmed.len()));
        }
    }
}

fn push(out: &mut Vec<PiiSpan>, start: usize, end: usize) {
    out.push(PiiSpan {
        kind: PiiKind::PersonName,
        start,
        end,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        find(text, &mut out);
        out.iter().map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn scripts() {
        assert_eq!(names("Перевод Иван Петров"), ["Иван Петров"]);
        assert_eq!(
            names("Оплата от Анна Смирнова за аренду"),
            ["Анна Смирнова"]
        );
        assert_eq!(
            names("Μεταφορά σε Γιώργος Παπαδόπουλος"),
            ["Γιώργος Παπαδόπουλος"]
        );
        assert_eq!(names("تحويل إلى محمد العلي"), ["محمد العلي"]);
        assert_eq!(names("भुगतान राहुल शर्मा को"), ["राहुल शर्मा"]);
        assert_eq!(names("转账给王小明"), ["王小明"]);
        assert_eq!(names("王小明さんへ振込"), ["王小明"]);
        assert_eq!(names("振込 鈴木 一郎 様"), ["鈴木 一郎"]);
        assert_eq!(names("收款人：李娜"), ["李娜"]);
        assert_eq!(names("Transfer to 김민준 ref 5"), ["김민준"]);
        assert!(names("Перевод").is_empty());
        assert!(names("ЯНДЕКС ТАКСИ").is_empty());
        assert!(names("電話 +81 3-1234-5678 まで").is_empty());
        assert!(names("支付宝 订单 20240115123045 金额 88.00").is_empty());
    }
}
