//! Lexicon-based sentiment scoring of short social posts about concerts and
//! sports events, in English, French, German and Spanish. This module owns the
//! embedded lexicons (general plus ticketing vocabulary), emoji and emoticon
//! weights, the tokenizer with case and accent folding, negation and
//! intensifier handling, and the normalisation of a post to a score in
//! [-1, 1]. It must not detect languages (the caller passes the code it has),
//! use ML models, load files or allocate per call: it runs once per post in a
//! stream processor.

/// Languages with a lexicon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// English.
    En,
    /// French.
    Fr,
    /// German.
    De,
    /// Spanish.
    Es,
}

impl Language {
    /// From an ISO 639-1 code or a BCP 47 tag ("en", "EN", "en-GB", "de_AT"); None for others.
    ///
    /// ISO 639-2 codes ("eng", "fra"/"fre", "deu"/"ger", "spa") are accepted
    /// too, because some upstream detectors emit them.
    pub fn from_code(code: &str) -> Option<Language> {
        const CODES: [(&str, Language); 10] = [
            ("en", Language::En),
            ("eng", Language::En),
            ("fr", Language::Fr),
            ("fra", Language::Fr),
            ("fre", Language::Fr),
            ("de", Language::De),
            ("deu", Language::De),
            ("ger", Language::De),
            ("es", Language::Es),
            ("spa", Language::Es),
        ];
        let primary = code.trim().split(['-', '_']).next().unwrap_or("");
        CODES
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(primary))
            .map(|&(_, lang)| lang)
    }

    fn lexicon(self) -> &'static [Entry] {
        match self {
            Language::En => EN,
            Language::Fr => FR,
            Language::De => DE,
            Language::Es => ES,
        }
    }
}

/// The sentiment of one text.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sentiment {
    /// In [-1, 1]: negative to positive; 0 when nothing scored.
    pub score: f32,
    /// Lexicon hits counted positive (after negation).
    pub positive: u16,
    /// Lexicon hits counted negative (after negation).
    pub negative: u16,
}

/// Scores `text` in `language` (an ISO code as in `Language::from_code`); unknown or empty codes use the English lexicon.
///
/// English is the fallback rather than emoji-only because posts in this
/// domain that arrive without a usable tag are mostly English or full of
/// English loanwords ("sold out", "scam"); emoji and emoticons always count.
pub fn score(text: &str, language: &str) -> Sentiment {
    score_in(text, Language::from_code(language).unwrap_or(Language::En))
}

/// Scores with a known language.
///
/// The sum of hit weights `s` is mapped to `s / sqrt(s² + 15)` (VADER's
/// normalisation, alpha = 15): one strong word (weight 3) gives about 0.6 and
/// the score approaches ±1 as hits accumulate, so long posts do not explode.
pub fn score_in(text: &str, language: Language) -> Sentiment {
    let table = language.lexicon();
    let mut scanner = Scanner {
        rest: text,
        lang: language,
        brk: false,
    };
    let mut tally = Tally::default();
    let mut ahead: [Option<Tok>; MAX_NGRAM] = [None; MAX_NGRAM];
    let mut st = State::default();
    loop {
        for slot in ahead.iter_mut().filter(|s| s.is_none()) {
            *slot = scanner.next_token(&mut tally);
        }
        let Some(cur) = ahead[0] else { break };
        if cur.brk {
            st.neg_left = 0;
            st.flush(&mut tally);
        }
        let (kind, used) = lookup_span(table, language, &ahead);
        ahead.rotate_left(used);
        for slot in &mut ahead[MAX_NGRAM - used..] {
            *slot = None;
        }
        st.apply(kind, used, &mut tally);
    }
    st.flush(&mut tally);
    tally.finish()
}

// ---------------------------------------------------------------------------
// Scoring state

/// Negation flips a word and halves it: "not good" is weaker than "bad", and
/// "not bad" / "pas mal" / "nicht schlecht" come out mildly positive.
const NEGATION: f32 = -0.5;
/// A negator reaches this many following tokens, enough for "not very good"
/// and "n'est vraiment pas bon" without leaking into the next clause.
const NEG_WINDOW: u8 = 3;
/// VADER's normalisation constant (see `score_in`).
const ALPHA: f64 = 15.0;
/// Stacked intensifiers ("really really so good") saturate here.
const MAX_BOOST: f32 = 2.5;
/// Longest phrase in the lexicons, in tokens.
const MAX_NGRAM: usize = 3;
/// Longer tokens cannot be lexicon words and are skipped, which keeps the
/// folding buffer on the stack.
const TOK_CAP: usize = 32;

#[derive(Default)]
struct Tally {
    sum: f64,
    pos: u32,
    neg: u32,
}

impl Tally {
    fn add(&mut self, w: f32) {
        if w > 0.0 {
            self.pos = self.pos.saturating_add(1);
        } else if w < 0.0 {
            self.neg = self.neg.saturating_add(1);
        }
        self.sum += f64::from(w);
    }

    fn finish(&self) -> Sentiment {
        let s = self.sum;
        let score = if s == 0.0 || !s.is_finite() {
            0.0
        } else {
            (s / (s * s + ALPHA).sqrt()).clamp(-1.0, 1.0)
        };
        Sentiment {
            score: score as f32,
            positive: u16::try_from(self.pos).unwrap_or(u16::MAX),
            negative: u16::try_from(self.neg).unwrap_or(u16::MAX),
        }
    }
}

struct State {
    /// Tokens the open negation still reaches; 0 when none is open.
    neg_left: u8,
    /// Multiplier waiting for the next sentiment word.
    boost: f32,
    /// Own weight of a pending booster ("super", "mega"), counted only when
    /// no sentiment word follows it; already boosted and negated.
    standalone: f32,
}

impl Default for State {
    fn default() -> Self {
        State {
            neg_left: 0,
            boost: 1.0,
            standalone: 0.0,
        }
    }
}

impl State {
    fn flush(&mut self, tally: &mut Tally) {
        if self.standalone != 0.0 {
            tally.add(self.standalone);
        }
        self.boost = 1.0;
        self.standalone = 0.0;
    }

    fn apply(&mut self, kind: Option<Kind>, used: usize, tally: &mut Tally) {
        let negated = self.neg_left > 0;
        self.neg_left = self
            .neg_left
            .saturating_sub(u8::try_from(used).unwrap_or(u8::MAX));
        let flip = if negated { NEGATION } else { 1.0 };
        match kind {
            Some(Kind::Word(w)) => {
                tally.add(w * self.boost * flip);
                // A negation covers one sentiment word, so "no queues and
                // great sound" keeps "great" positive.
                if negated {
                    self.neg_left = 0;
                }
                self.boost = 1.0;
                self.standalone = 0.0;
            }
            Some(Kind::Fixed(w)) => {
                tally.add(w * self.boost);
                self.boost = 1.0;
                self.standalone = 0.0;
            }
            Some(Kind::Negator) => {
                self.flush(tally);
                self.neg_left = NEG_WINDOW;
            }
            Some(Kind::Extend) => {
                self.flush(tally);
                if negated {
                    self.neg_left = NEG_WINDOW;
                }
            }
            Some(Kind::Boost(mult, own)) => {
                self.standalone = own * self.boost * flip;
                self.boost = (self.boost * mult).min(MAX_BOOST);
            }
            Some(Kind::Reset) => {
                self.flush(tally);
                self.neg_left = 0;
            }
            None => self.flush(tally),
        }
    }
}

// ---------------------------------------------------------------------------
// Lexicon lookup

/// What a lexicon entry does. Weights are on a -3..=3 scale.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Sentiment word; negation flips it.
    Word(f32),
    /// Sentiment that negation does not flip: "refund" is a complaint both
    /// asked for and denied ("no refund"), and idioms that contain their own
    /// negator ("veo la hora" after "no").
    Fixed(f32),
    /// Opens a negation scope.
    Negator,
    /// Re-opens a scope that is already open: French "ne … plus/jamais"
    /// where "plus" alone means "more".
    Extend,
    /// Intensifier or diminisher: multiplier for the next sentiment word, and
    /// the word's own weight when none follows ("super!").
    Boost(f32, f32),
    /// Contrast word: closes negation ("not cheap but great").
    Reset,
}

type Entry = (&'static str, Kind);

fn find(table: &[Entry], key: &[u8]) -> Option<Kind> {
    table
        .binary_search_by(|(k, _)| k.as_bytes().cmp(key))
        .ok()
        .map(|i| table[i].1)
}

/// Longest match first: phrases of up to `MAX_NGRAM` tokens that do not cross
/// a clause break, then the single token. Returns the kind and tokens used.
fn lookup_span(
    table: &[Entry],
    lang: Language,
    ahead: &[Option<Tok>; MAX_NGRAM],
) -> (Option<Kind>, usize) {
    for n in (2..=MAX_NGRAM).rev() {
        let mut key = [0u8; MAX_NGRAM * (TOK_CAP + 1)];
        let mut len = 0;
        let mut ok = true;
        for (i, slot) in ahead[..n].iter().enumerate() {
            match slot {
                Some(t) if !t.overflow && (i == 0 || !t.brk) => {
                    if i > 0 {
                        key[len] = b' ';
                        len += 1;
                    }
                    key[len..len + t.bytes().len()].copy_from_slice(t.bytes());
                    len += t.bytes().len();
                }
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            continue;
        }
        if let Some(kind) = find(table, &key[..len]) {
            return (Some(kind), n);
        }
    }
    let kind = ahead[0].and_then(|t| lookup_word(table, lang, &t));
    (kind, 1)
}

fn lookup_word(table: &[Entry], lang: Language, tok: &Tok) -> Option<Kind> {
    if tok.overflow {
        return None;
    }
    let word = tok.bytes();
    if let Some(kind) = find(table, word) {
        return Some(kind);
    }
    // Every English "-n't" contraction negates; listing them all is noise.
    if lang == Language::En && word.ends_with(b"n't") {
        return Some(Kind::Negator);
    }
    // "soooo goooood", "geiiiil": try runs of 3+ letters squeezed to two,
    // then to one.
    if tok.elongated {
        for keep in [2, 1] {
            let mut buf = [0u8; TOK_CAP];
            let mut len = 0;
            for (i, &b) in word.iter().enumerate() {
                let run_before = word[..i].iter().rev().take_while(|&&p| p == b).count();
                let run_total = run_before + word[i..].iter().take_while(|&&p| p == b).count();
                if run_total < 3 || run_before < keep {
                    buf[len] = b;
                    len += 1;
                }
            }
            if let Some(kind) = find(table, &buf[..len]) {
                return Some(kind);
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Tokenizer

/// One folded token on the stack.
#[derive(Clone, Copy)]
struct Tok {
    buf: [u8; TOK_CAP],
    len: u8,
    /// Too long to be a lexicon word; `buf` holds only a prefix.
    overflow: bool,
    /// Has a run of three equal bytes, so elongation squeezing may help.
    elongated: bool,
    /// A clause break (punctuation, emoji) precedes it.
    brk: bool,
}

impl Tok {
    fn bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    fn last(&self) -> Option<u8> {
        self.bytes().last().copied()
    }

    fn push(&mut self, b: u8) {
        let len = usize::from(self.len);
        if len >= TOK_CAP {
            self.overflow = true;
            return;
        }
        if len >= 2 && self.buf[len - 1] == b && self.buf[len - 2] == b {
            self.elongated = true;
        }
        self.buf[len] = b;
        self.len += 1;
    }

    fn push_str(&mut self, s: &str) {
        for b in s.bytes() {
            self.push(b);
        }
    }

    /// Lowercases `c` and folds accents the way people drop them. German
    /// folds umlauts to ae/oe/ue (the usual keyboard-less spelling) so that
    /// "schön" does not collide with "schon" (already); other languages strip
    /// diacritics ("génial" = "genial", "increíble" = "increible").
    fn push_folded(&mut self, c: char, lang: Language) {
        let german = lang == Language::De;
        for c in c.to_lowercase() {
            if c.is_ascii() {
                self.push(c as u8);
                continue;
            }
            if is_combining(c) {
                // Decomposed (NFD) umlaut: "o" + U+0308.
                if german && c == '\u{308}' && matches!(self.last(), Some(b'a' | b'o' | b'u')) {
                    self.push(b'e');
                }
                continue;
            }
            let folded = match c {
                'à' | 'á' | 'â' | 'ã' | 'å' | 'ā' | 'ă' | 'ą' => "a",
                'ä' if german => "ae",
                'ä' => "a",
                'ç' | 'ć' | 'č' => "c",
                'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
                'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
                'ñ' | 'ń' | 'ň' => "n",
                'ò' | 'ó' | 'ô' | 'õ' | 'ø' | 'ō' | 'ő' => "o",
                'ö' if german => "oe",
                'ö' => "o",
                'ù' | 'ú' | 'û' | 'ū' | 'ů' | 'ű' => "u",
                'ü' if german => "ue",
                'ü' => "u",
                'ý' | 'ÿ' => "y",
                'ß' => "ss",
                'œ' => "oe",
                'æ' => "ae",
                _ => {
                    // Kept verbatim so it cannot accidentally match an
                    // ASCII lexicon key.
                    let mut utf8 = [0u8; 4];
                    self.push_str(c.encode_utf8(&mut utf8));
                    continue;
                }
            };
            self.push_str(folded);
        }
    }
}

fn is_combining(c: char) -> bool {
    matches!(c,
        '\u{300}'..='\u{36f}'
        | '\u{1ab0}'..='\u{1aff}'
        | '\u{1dc0}'..='\u{1dff}'
        | '\u{20d0}'..='\u{20ff}'
        | '\u{fe20}'..='\u{fe2f}')
}

fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2019}' | '\u{2018}' | '\u{2bc}' | '\u{b4}' | '`'
    )
}

/// Clause boundaries end negation scope and phrases.
fn is_break(c: char) -> bool {
    matches!(
        c,
        '.' | ','
            | ';'
            | ':'
            | '!'
            | '?'
            | '¡'
            | '¿'
            | '…'
            | '('
            | ')'
            | '['
            | ']'
            | '|'
            | '\n'
            | '\r'
            | '•'
    )
}

struct Scanner<'a> {
    rest: &'a str,
    lang: Language,
    /// A clause break was seen since the last token.
    brk: bool,
}

impl Scanner<'_> {
    /// Next word token; emoji and emoticons met on the way go straight into
    /// `tally` because negation and intensifiers never apply to them.
    fn next_token(&mut self, tally: &mut Tally) -> Option<Tok> {
        loop {
            let mut chars = self.rest.chars();
            let c = chars.next()?;
            if c.is_alphanumeric() {
                return Some(self.word());
            }
            if let Some((len, w)) = emoticon(self.rest) {
                tally.add(w);
                self.brk = true;
                self.rest = &self.rest[len..];
                continue;
            }
            if let Some(w) = emoji_weight(c) {
                tally.add(w);
                self.brk = true;
            } else if is_break(c) {
                self.brk = true;
            }
            self.rest = chars.as_str();
        }
    }

    fn word(&mut self) -> Tok {
        let mut tok = Tok {
            buf: [0; TOK_CAP],
            len: 0,
            overflow: false,
            elongated: false,
            brk: core::mem::take(&mut self.brk),
        };
        let mut rest = self.rest;
        loop {
            let mut chars = rest.chars();
            let Some(c) = chars.next() else { break };
            if c.is_alphanumeric() || is_combining(c) {
                tok.push_folded(c, self.lang);
                rest = chars.as_str();
                continue;
            }
            let inner = is_apostrophe(c) && chars.clone().next().is_some_and(char::is_alphanumeric);
            if !inner {
                break;
            }
            rest = chars.as_str();
            match self.lang {
                // "can't", "don't" stay whole so negators and "can't wait"
                // match as written.
                Language::En => tok.push(b'\''),
                // Elision: "n'est" -> "n'" + "est", "l'ambiance" -> "l'" + "ambiance".
                Language::Fr => {
                    tok.push(b'\'');
                    break;
                }
                // "geht's", "gibt's": the clitic carries no sentiment.
                Language::De | Language::Es => break,
            }
        }
        self.rest = rest;
        tok
    }
}

// ---------------------------------------------------------------------------
// Emoji and emoticons (language-independent)

/// Longest first where they share a prefix. Each must be followed by a
/// non-alphanumeric so "re:Dave" is no ":D"; ":/" is left out because it
/// is in every URL.
const EMOTICONS: [(&str, f32); 17] = [
    (":-)", 1.5),
    (":)", 1.5),
    (":-D", 2.0),
    (":D", 2.0),
    (";-)", 1.0),
    (";)", 1.0),
    ("=)", 1.5),
    (":]", 1.0),
    ("<3", 2.0),
    (":-(", -1.5),
    (":'(", -2.0),
    (":(", -1.5),
    ("=(", -1.5),
    (":[", -1.0),
    ("</3", -2.0),
    (":@", -2.0),
    (":-@", -2.0),
];

fn emoticon(s: &str) -> Option<(usize, f32)> {
    if !s.starts_with([':', ';', '=', '<']) {
        return None;
    }
    EMOTICONS.iter().find_map(|&(e, w)| {
        let after = s.strip_prefix(e)?;
        (!after.chars().next().is_some_and(char::is_alphanumeric)).then_some((e.len(), w))
    })
}

/// Variation selectors, skin tones and ZWJ that follow an emoji are ignored
/// by the scanner, so only the base code point matters here. Ambiguous ones
/// (😭, 😱, 🖤) are left out: at concerts they are as often joy as grief.
fn emoji_weight(c: char) -> Option<f32> {
    Some(match c {
        '😍' | '🥰' | '🤩' => 3.0,
        '🔥' | '🎉' | '🎊' | '👏' | '🙌' | '💯' | '🏆' | '😁' | '😄' => 2.0,
        '🥳' | '❤' | '💖' | '💕' | '💗' | '💓' | '💘' | '💙' | '💚' | '💛' | '💜' | '🧡' => {
            2.0
        }
        '😀' | '😃' | '😊' | '☺' | '😎' | '👍' | '🤘' | '💪' | '🥹' | '😻' => {
            1.5
        }
        '🙂' | '✨' | '😂' | '🤣' | '😆' | '🎶' | '🎵' => 1.0,
        '😕' | '😑' | '😐' => -1.0,
        '😔' | '😩' | '😫' | '😤' | '😒' | '🙄' | '🙁' => -1.5,
        '😢' | '😞' | '😟' | '☹' | '👎' | '🤡' => -2.0,
        '😠' | '💩' | '💔' | '🤢' => -2.5,
        '😡' | '🤬' | '🤮' => -3.0,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// Lexicons
//
// Keys are folded (lowercase ASCII; accents stripped, German umlauts as
// ae/oe/ue, ß as ss) and sorted by bytes; a test enforces both. Phrases are
// space-joined tokens; in French an elided article keeps its apostrophe
// ("n'"). There is no stemming, so common inflections are listed.
//
// Domain choices shared by all languages:
// - "sold out" / "ausverkauft" / "agotado" / "complet" are mildly positive
//   (+0.5..+1): for demand analytics they signal buzz, not complaint.
// - "refund" words are Fixed negatives: asking for one and being denied one
//   ("no refund") are both complaints.
// - queue, fees, postponed, expensive are mild negatives; scam / rip-off
//   are the strongest.
// - Slang that is positive at gigs ("insane", "brutal", "ouf", "geil",
//   "Hammer") is scored positive.

use Kind::{Boost as B, Extend as X, Fixed as F, Negator as N, Reset as R, Word as W};

static EN: &[Entry] = &[
    ("absolutely", B(1.6, 0.0)),
    ("absurd", W(-2.0)),
    ("affordable", W(1.5)),
    ("ain't", N),
    ("aint", N),
    ("although", R),
    ("amazing", W(3.0)),
    ("angry", W(-2.5)),
    ("annoyed", W(-2.0)),
    ("annoying", W(-2.0)),
    ("awesome", W(3.0)),
    ("awful", W(-3.0)),
    ("bad", W(-2.0)),
    ("banger", W(2.5)),
    ("bangers", W(2.5)),
    ("barely", N),
    ("bargain", W(1.5)),
    ("beautiful", W(2.5)),
    ("best", W(2.5)),
    ("better", W(1.5)),
    ("bit", B(0.7, 0.0)),
    ("blessed", W(2.0)),
    ("bored", W(-1.5)),
    ("boring", W(-2.0)),
    ("bot", W(-1.0)),
    ("bots", W(-1.5)), // bots buying up tickets
    ("bravo", W(2.0)),
    ("brilliant", W(3.0)),
    ("broken", W(-2.0)),
    ("but", R),
    ("buzzing", W(2.0)),
    ("can not wait", W(2.5)),
    ("can't wait", W(2.5)), // idiom: eager, not negated
    ("canceled", W(-2.0)),
    ("cancellation", W(-2.0)),
    ("cancelled", W(-2.0)),
    ("cannot", N),
    ("cannot wait", W(2.5)),
    ("cant", N),
    ("cant wait", W(2.5)),
    ("cantwait", W(2.5)), // hashtag
    ("champions", W(2.0)),
    ("chaos", W(-2.0)),
    ("chaotic", W(-2.0)),
    ("cool", W(1.5)),
    ("couldn't be happier", W(3.0)),
    ("couldn't wait", W(2.0)),
    ("couldnt", N),
    ("couldnt be happier", W(3.0)),
    ("crap", W(-2.5)),
    ("crappy", W(-2.5)),
    ("crash", W(-2.0)),
    ("crashed", W(-2.0)), // ticket site went down
    ("crowded", W(-1.0)),
    ("damn", B(1.3, 0.0)),
    ("delay", W(-1.5)),
    ("delayed", W(-1.5)),
    ("didnt", N),
    ("disappointed", W(-2.5)),
    ("disappointing", W(-2.5)),
    ("disappointment", W(-2.5)),
    ("disaster", W(-3.0)),
    ("disgrace", W(-3.0)),
    ("disgraceful", W(-3.0)),
    ("disgusting", W(-3.0)),
    ("doesnt", N),
    ("dont", N),
    ("dreadful", W(-3.0)),
    ("electric", W(2.0)),
    ("enjoy", W(1.5)),
    ("enjoyed", W(2.0)),
    ("epic", W(2.5)),
    ("error", W(-1.5)),
    ("excellent", W(3.0)),
    ("excited", W(2.5)),
    ("exciting", W(2.5)),
    ("expensive", W(-1.5)),
    ("extremely", B(1.8, 0.0)),
    ("fairly", B(0.8, 0.0)),
    ("fake", W(-2.0)), // fake tickets
    ("fantastic", W(3.0)),
    ("fee", W(-1.0)),
    ("fees", W(-1.0)), // service fees are a standing complaint
    ("fire", W(1.5)),  // "this set was fire"
    ("flawless", W(3.0)),
    ("fraud", W(-3.0)),
    ("friendly", W(1.5)),
    ("frustrated", W(-2.5)),
    ("frustrating", W(-2.5)),
    ("fucking", B(1.5, 0.0)),
    ("fun", W(2.0)),
    ("furious", W(-3.0)),
    ("garbage", W(-2.5)),
    ("glad", W(1.5)),
    ("glitch", W(-1.5)),
    ("goat", W(2.0)),
    ("good", W(1.5)),
    ("gorgeous", W(2.5)),
    ("gouge", W(-2.5)),
    ("gouging", W(-3.0)),
    ("grateful", W(2.0)),
    ("great", W(2.0)),
    ("greed", W(-2.5)),
    ("greedy", W(-2.5)),
    ("happy", W(2.0)),
    ("hardly", N),
    ("hate", W(-2.5)),
    ("hated", W(-2.5)),
    ("highly", B(1.5, 0.0)),
    ("horrendous", W(-3.0)),
    ("horrible", W(-3.0)),
    ("however", R),
    ("hyped", W(2.0)),
    ("iconic", W(2.5)),
    ("incredible", W(3.0)),
    ("incredibly", B(1.8, 0.0)),
    ("insane", W(2.0)), // gig slang: "the crowd was insane"
    ("insanely", B(1.8, 0.0)),
    ("isnt", N),
    ("joke", W(-1.5)), // "the queue is a joke"
    ("kinda", B(0.7, 0.0)),
    ("lame", W(-2.0)),
    ("legendary", W(3.0)),
    ("letdown", W(-2.0)),
    ("like", W(0.5)), // mostly filler ("like, the queue…"), hence low
    ("liked", W(1.5)),
    ("lit", W(2.0)),
    ("loss", W(-1.5)),
    ("lost", W(-1.5)),
    ("love", W(2.5)),
    ("loved", W(2.5)),
    ("lovely", W(2.5)),
    ("loving", W(2.5)),
    ("lucky", W(2.0)),
    ("magic", W(2.0)),
    ("magical", W(3.0)),
    ("masterpiece", W(3.0)),
    ("mediocre", W(-1.5)),
    ("meh", W(-1.0)),
    ("memorable", W(2.5)),
    ("mess", W(-2.0)),
    ("much", B(1.2, 0.0)),
    ("must see", W(2.0)),
    ("mustsee", W(2.0)),
    ("neither", N),
    ("never", N),
    ("nice", W(1.5)),
    ("nightmare", W(-3.0)),
    ("no", N),
    ("nobody", N),
    ("none", N),
    ("nor", N),
    ("not", N),
    ("nothing", N),
    ("omg", W(1.0)), // mostly excitement in this domain
    ("outstanding", W(3.0)),
    ("overcrowded", W(-2.0)),
    ("overpriced", W(-2.5)),
    ("overrated", W(-1.5)),
    ("pathetic", W(-2.5)),
    ("perfect", W(3.0)),
    ("phenomenal", W(3.0)),
    ("poor", W(-1.5)),
    ("postponed", W(-1.5)),
    ("pretty", B(1.1, 1.5)), // "pretty good" vs "so pretty"
    ("pricey", W(-1.0)),
    ("proud", W(2.0)),
    ("pumped", W(2.0)),
    ("queue", W(-1.0)),
    ("queueing", W(-1.0)),
    ("queues", W(-1.0)),
    ("queuing", W(-1.0)),
    ("really", B(1.5, 0.0)),
    ("recommend", W(2.0)),
    ("recommended", W(2.0)),
    ("refund", F(-1.0)),
    ("refunded", F(-0.5)), // resolved, but still a failed event
    ("refunds", F(-1.0)),
    ("ridiculous", W(-2.0)),
    ("ridiculously", B(1.6, 0.0)),
    ("rigged", W(-2.5)),
    ("rip off", W(-3.0)),
    ("ripoff", W(-3.0)),
    ("ripped off", W(-3.0)),
    ("robbed", W(-2.5)), // fans "robbed" by refs or resellers
    ("robbery", W(-3.0)),
    ("rude", W(-2.0)),
    ("sad", W(-2.0)),
    ("sadly", W(-1.0)),
    ("scalper", W(-2.0)),
    ("scalpers", W(-2.0)),
    ("scalping", W(-2.0)),
    ("scam", W(-3.0)),
    ("scammed", W(-3.0)),
    ("scammers", W(-3.0)),
    ("scams", W(-3.0)),
    ("sellout", W(0.5)), // "sellout crowd"; also an insult, hence low
    ("shame", W(-2.0)),
    ("shameful", W(-2.5)),
    ("slightly", B(0.6, 0.0)),
    ("smooth", W(1.5)), // entry and checkout praise
    ("so", B(1.4, 0.0)),
    ("sold out", W(1.0)), // demand buzz
    ("soldout", W(1.0)),
    ("somewhat", B(0.6, 0.0)),
    ("spectacular", W(3.0)),
    ("stoked", W(2.5)),
    ("stunning", W(3.0)),
    ("such", B(1.3, 0.0)),
    ("suck", W(-2.0)),
    ("sucked", W(-2.5)),
    ("sucks", W(-2.5)),
    ("super", B(1.5, 2.0)),
    ("superb", W(3.0)),
    ("terrible", W(-3.0)),
    ("thank", W(1.0)),
    ("thankful", W(2.0)),
    ("thanks", W(1.0)),
    ("though", R),
    ("thrilled", W(3.0)),
    ("too", B(1.3, 0.0)), // "too expensive"
    ("totally", B(1.5, 0.0)),
    ("trash", W(-2.5)),
    ("truly", B(1.5, 0.0)),
    ("unacceptable", W(-2.5)),
    ("underwhelming", W(-2.0)),
    ("unfair", W(-2.0)),
    ("unforgettable", W(3.0)),
    ("unfortunately", W(-1.0)),
    ("unreal", W(2.5)),
    ("unsafe", W(-2.5)),
    ("useless", W(-2.5)),
    ("very", B(1.5, 0.0)),
    ("victory", W(2.0)),
    ("wasnt", N),
    ("waste of money", W(-3.0)),
    ("waste of time", W(-3.0)),
    ("win", W(1.5)),
    ("without", N),
    ("wonderful", W(3.0)),
    ("wont", N),
    ("worse", W(-2.0)),
    ("worst", W(-3.0)),
    ("worth", W(1.5)), // "not worth it" flips
    ("worth every penny", W(3.0)),
    ("wouldnt", N),
    ("wow", W(2.0)),
    ("wtf", W(-1.5)),
    ("yay", W(2.0)),
    ("yet", R),
];

static FR: &[Entry] = &[
    ("absolument", B(1.5, 0.0)),
    ("abuse", W(-2.0)), // "c'est abusé": outrageous (prices)
    ("abusif", W(-2.0)),
    ("adorable", W(2.0)),
    ("adore", W(2.5)),
    ("adorer", W(2.5)),
    ("affreuse", W(-3.0)),
    ("affreux", W(-3.0)),
    ("aime", W(2.0)),
    ("aimer", W(2.0)),
    ("annulation", W(-2.0)),
    ("annule", W(-2.0)),
    ("annulee", W(-2.0)),
    ("annules", W(-2.0)),
    ("arnaque", W(-3.0)),
    ("arnaques", W(-3.0)),
    ("arnaqueur", W(-3.0)),
    ("arnaqueurs", W(-3.0)),
    ("assez", B(0.9, 0.0)),
    ("attente", W(-1.0)), // waiting time, "file d'attente"
    ("aucun", N),
    ("aucune", N),
    ("beau", W(2.0)),
    ("beaux", W(2.0)),
    ("belle", W(2.0)),
    ("belles", W(2.0)),
    ("bien", W(1.5)),
    ("bof", W(-1.0)),
    ("bon", W(1.5)),
    ("bonheur", W(3.0)),
    ("bonne", W(1.5)),
    ("bordel", W(-2.0)), // "quel bordel": what a mess
    ("bots", W(-1.5)),
    ("bravo", W(2.0)),
    ("bug", W(-1.5)),
    ("carrement", B(1.5, 0.0)),
    ("catastrophe", W(-3.0)),
    ("catastrophique", W(-3.0)),
    ("cependant", R),
    ("champion", W(2.0)),
    ("champions", W(2.0)),
    ("chaos", W(-2.0)),
    ("cher", W(-1.0)), // "trop cher"; "pas cher" flips to positive
    ("chere", W(-1.0)),
    ("cheres", W(-1.0)),
    ("chiant", W(-2.5)),
    ("chiante", W(-2.5)),
    ("chouette", W(2.0)),
    ("colere", W(-2.5)),
    ("complet", W(0.5)), // sold out; neutral-ish buzz
    ("complete", W(0.5)),
    ("completement", B(1.5, 0.0)),
    ("content", W(2.0)),
    ("contente", W(2.0)),
    ("cool", W(1.5)),
    ("deception", W(-2.5)),
    ("decevant", W(-2.5)),
    ("decevante", W(-2.5)),
    ("decu", W(-2.5)),
    ("decue", W(-2.5)),
    ("decus", W(-2.5)),
    ("defaite", W(-2.0)),
    ("degoute", W(-2.5)),
    ("degoutee", W(-2.5)),
    ("degueulasse", W(-3.0)),
    ("desastre", W(-3.0)),
    ("dingue", W(2.0)), // "un concert de dingue"
    ("emotion", W(1.5)),
    ("emouvant", W(2.0)),
    ("enerve", W(-2.0)),
    ("enervee", W(-2.0)),
    ("ennui", W(-2.0)),
    ("ennuyeuse", W(-2.0)),
    ("ennuyeux", W(-2.0)),
    ("enorme", W(2.5)), // slang: awesome
    ("epoustouflant", W(3.0)),
    ("epoustouflante", W(3.0)),
    ("escroc", W(-3.0)),
    ("escrocs", W(-3.0)),
    ("escroquerie", W(-3.0)),
    ("excellent", W(3.0)),
    ("excellente", W(3.0)),
    ("excessif", W(-2.0)),
    ("extraordinaire", W(3.0)),
    ("extremement", B(1.8, 0.0)),
    ("fabuleux", W(3.0)),
    ("fantastique", W(3.0)),
    ("folle", W(1.5)),
    ("formidable", W(3.0)),
    ("fou", W(1.5)),    // "un show de fou"
    ("frais", W(-0.5)), // fees; also "fresh", hence low
    ("frisson", W(2.0)),
    ("frissons", W(2.0)),
    ("gagne", W(1.5)),
    ("galere", W(-2.0)),
    ("genial", W(3.0)),
    ("geniale", W(3.0)),
    ("geniaux", W(3.0)),
    ("grandiose", W(3.0)),
    ("guere", X),
    ("guichets fermes", W(1.0)), // sold out
    ("hate", W(2.5)),            // "j'ai hâte": can't wait
    ("heureuse", W(2.5)),
    ("heureux", W(2.5)),
    ("honte", W(-2.5)),
    ("honteuse", W(-3.0)),
    ("honteux", W(-3.0)),
    ("horrible", W(-3.0)),
    ("hyper", B(1.5, 0.0)),
    ("impatient", W(2.0)),
    ("impatiente", W(2.0)),
    ("inacceptable", W(-2.5)),
    ("inadmissible", W(-3.0)),
    ("incroyable", W(3.0)),
    ("incroyables", W(3.0)),
    ("injuste", W(-2.0)),
    ("inoubliable", W(3.0)),
    ("inutile", W(-2.0)),
    ("jamais", N),
    ("kif", W(2.0)),
    ("kiffe", W(2.0)),
    ("lamentable", W(-3.0)),
    ("legendaire", W(3.0)),
    ("legerement", B(0.6, 0.0)),
    ("magique", W(3.0)),
    ("magnifique", W(3.0)),
    ("magnifiques", W(3.0)),
    ("mais", R),
    ("mal", W(-1.5)), // "pas mal" flips to mildly positive
    ("mauvais", W(-2.0)),
    ("mauvaise", W(-2.0)),
    ("mediocre", W(-1.5)),
    ("meilleur", W(2.5)),
    ("meilleure", W(2.5)),
    ("merci", W(1.5)),
    ("merde", W(-2.5)),
    ("merdique", W(-3.0)),
    ("merveille", W(3.0)),
    ("merveilleuse", W(3.0)),
    ("merveilleux", W(3.0)),
    ("mieux", W(1.5)),
    ("moche", W(-2.0)),
    ("moyen", W(-1.0)), // "c'était moyen": mediocre
    ("mythique", W(3.0)),
    ("n", N), // "n est" typed without apostrophe
    ("n'", N),
    ("naze", W(-2.0)),
    ("ne", N),
    ("ni", N),
    ("non", N),
    ("nul", W(-2.5)),
    ("nulle", W(-2.5)),
    ("nuls", W(-2.5)),
    ("ouf", W(2.0)), // verlan "fou": "c'était ouf"
    ("parfait", W(3.0)),
    ("parfaite", W(3.0)),
    ("pas", N), // spoken French drops "ne"
    ("perdre", W(-1.5)),
    ("perdu", W(-1.5)),
    ("peu", B(0.6, 0.0)),
    ("pire", W(-3.0)),
    ("pires", W(-3.0)),
    ("pitoyable", W(-3.0)),
    ("plus", X), // "ne … plus"; alone it means "more"
    ("plutot", B(0.9, 0.0)),
    ("pourri", W(-2.5)),
    ("pourrie", W(-2.5)),
    ("pourtant", R),
    ("queue", W(-1.0)),
    ("ravi", W(2.5)),
    ("ravie", W(2.5)),
    ("recommande", W(2.0)),
    ("rembourse", F(-1.0)),
    ("remboursement", F(-1.0)),
    ("remboursements", F(-1.0)),
    ("rembourser", F(-1.0)),
    ("remboursez", F(-1.5)), // the protest chant
    ("reporte", W(-1.5)),
    ("reportee", W(-1.5)),
    ("retard", W(-1.5)),
    ("revendeurs", W(-1.5)), // scalpers
    ("ridicule", W(-2.0)),
    ("rien", N),
    ("sans", N),
    ("sauf", R),
    ("scandale", W(-3.0)),
    ("scandaleux", W(-3.0)),
    ("si", B(1.2, 0.0)), // "si bon"; also "if", hence weak
    ("sold out", W(1.0)),
    ("soldout", W(1.0)),
    ("splendide", W(3.0)),
    ("sublime", W(3.0)),
    ("super", B(1.5, 2.0)),
    ("sympa", W(1.5)),
    ("tellement", B(1.5, 0.0)),
    ("terrible", W(1.0)), // colloquially "great"; "pas terrible" = poor
    ("top", W(2.0)),
    ("totalement", B(1.5, 0.0)),
    ("tres", B(1.5, 0.0)),
    ("triste", W(-2.0)),
    ("tristesse", W(-2.0)),
    ("trop", B(1.5, 0.0)), // "trop bien" and "trop cher" alike
    ("ultra", B(1.5, 0.0)),
    ("vachement", B(1.5, 0.0)),
    ("victoire", W(2.0)),
    ("vivement", W(2.0)), // "vivement samedi": can't wait
    ("vol", W(-1.5)),     // "c'est du vol"; also "flight", hence moderate
    ("voleurs", W(-2.5)),
    ("vraiment", B(1.5, 0.0)),
    ("waouh", W(2.0)),
    ("wow", W(2.0)),
];

static DE: &[Entry] = &[
    ("aber", R),
    ("abgesagt", W(-2.0)),
    ("abgestuerzt", W(-2.0)), // ticket shop crashed
    ("abgezockt", W(-3.0)),
    ("absage", W(-2.0)),
    ("absolut", B(1.6, 0.0)),
    ("absturz", W(-2.0)),
    ("abzocke", W(-3.0)),
    ("abzocker", W(-3.0)),
    ("aergerlich", W(-2.0)),
    ("aetzend", W(-2.5)),
    ("allerdings", R),
    ("atemberaubend", W(3.0)),
    ("ausgezeichnet", W(3.0)),
    ("ausverkauft", W(1.0)), // demand buzz
    ("begeistert", W(2.5)),
    ("besonders", B(1.4, 0.0)),
    ("besser", W(1.5)),
    ("beste", W(2.5)),
    ("besten", W(2.5)),
    ("bester", W(2.5)),
    ("betrueger", W(-3.0)),
    ("betrug", W(-3.0)),
    ("bisschen", B(0.6, 0.0)),
    ("blamage", W(-2.5)),
    ("bots", W(-1.5)),
    ("bravo", W(2.0)),
    ("brillant", W(3.0)),
    ("chaos", W(-2.0)),
    ("chaotisch", W(-2.0)),
    ("cool", W(1.5)),
    ("coole", W(1.5)),
    ("dankbar", W(2.0)),
    ("danke", W(1.5)),
    ("desaster", W(-3.0)),
    ("doch", R),
    ("echt", B(1.3, 0.0)),
    ("einfach", B(1.2, 0.0)), // "einfach geil"
    ("empfehlen", W(1.5)),    // "nicht zu empfehlen" flips
    ("empfehlenswert", W(2.0)),
    ("endlich", W(1.0)), // "endlich!": anticipation
    ("enttaeuschend", W(-2.5)),
    ("enttaeuscht", W(-2.5)),
    ("enttaeuschung", W(-2.5)),
    ("enttauschend", W(-2.5)), // umlaut dropped without the e
    ("enttauscht", W(-2.5)),
    ("enttauschung", W(-2.5)),
    ("episch", W(2.5)),
    ("erstattung", F(-1.0)),
    ("etwas", B(0.6, 0.0)),
    ("extrem", B(1.8, 0.0)),
    ("fantastisch", W(3.0)),
    ("fantastische", W(3.0)),
    ("fehler", W(-1.5)),
    ("flop", W(-2.0)),
    ("frech", W(-1.5)), // "freche Preise"
    ("frechheit", W(-2.5)),
    ("freude", W(2.0)),
    ("freue", W(2.0)),
    ("freuen", W(2.0)),
    ("freut", W(2.0)),
    ("furchtbar", W(-3.0)),
    ("gaensehaut", W(2.5)), // goosebumps
    ("geil", W(3.0)),       // slang: awesome
    ("geile", W(3.0)),
    ("geiler", W(3.0)),
    ("geiles", W(3.0)),
    ("geld zurueck", F(-1.5)),
    ("genial", W(3.0)),
    ("geniale", W(3.0)),
    ("gewonnen", W(2.0)),
    ("gluecklich", W(2.5)),
    ("glueckwunsch", W(2.0)),
    ("grauenhaft", W(-3.0)),
    ("grossartig", W(3.0)),
    ("grossartige", W(3.0)),
    ("guenstig", W(1.5)), // affordable
    ("gut", W(1.5)),
    ("gute", W(1.5)),
    ("guter", W(1.5)),
    ("gutes", W(1.5)),
    ("hammer", W(2.5)), // "der Hammer": awesome
    ("hervorragend", W(3.0)),
    ("jedoch", R),
    ("kacke", W(-2.5)),
    ("katastrophal", W(-3.0)),
    ("katastrophe", W(-3.0)),
    ("kaum", N),
    ("kaum erwarten", F(2.5)), // "kann es kaum erwarten": can't wait
    ("kein", N),
    ("keine", N),
    ("keinem", N),
    ("keinen", N),
    ("keiner", N),
    ("keines", N),
    ("klasse", W(2.5)),
    ("krass", W(1.0)), // mostly approving at gigs, but ambiguous
    ("laestig", W(-1.5)),
    ("langweilig", W(-2.0)),
    ("langweilige", W(-2.0)),
    ("legendaer", W(3.0)),
    ("leider", W(-1.0)),
    ("liebe", W(2.0)),
    ("lieben", W(2.0)),
    ("liebt", W(2.0)),
    ("lohnenswert", W(2.0)),
    ("lohnt", W(1.5)), // "lohnt sich": worth it
    ("lustig", W(1.5)),
    ("magisch", W(3.0)),
    ("mega", B(1.5, 2.0)),
    ("mies", W(-2.0)),
    ("miese", W(-2.0)),
    ("mist", W(-2.0)),
    ("nervig", W(-2.0)),
    ("nicht", N),
    ("nichts", N),
    ("nie", N),
    ("niederlage", W(-2.0)),
    ("niemals", N),
    ("nix", N),
    ("ohne", N),
    ("peinlich", W(-2.0)),
    ("perfekt", W(3.0)),
    ("perfekte", W(3.0)),
    ("preiswert", W(1.5)),
    ("reinfall", W(-2.5)),
    ("richtig", B(1.3, 0.0)), // "richtig gut"; alone means "correct"
    ("ruckerstattung", F(-1.0)),
    ("rueckerstattung", F(-1.0)),
    ("sauer", W(-2.0)), // angry
    ("schade", W(-1.5)),
    ("scheiss", W(-2.5)),
    ("scheisse", W(-3.0)),
    ("schlange", W(-1.0)), // queue
    ("schlecht", W(-2.0)),
    ("schlechte", W(-2.0)),
    ("schlechter", W(-2.0)),
    ("schlechtes", W(-2.0)),
    ("schlechteste", W(-3.0)),
    ("schoen", W(2.0)), // not "schon" (already): umlauts fold to oe
    ("schoene", W(2.0)),
    ("schoener", W(2.0)),
    ("schrecklich", W(-3.0)),
    ("schwarzmarkt", W(-2.0)),
    ("sehr", B(1.5, 0.0)),
    ("sieg", W(2.0)),
    ("skandal", W(-3.0)),
    ("skandaloes", W(-3.0)),
    ("so", B(1.3, 0.0)),
    ("spass", W(2.0)),
    ("spitze", W(2.5)),
    ("stark", W(1.5)), // "starke Show"
    ("storniert", W(-1.5)),
    ("stornierung", W(-1.5)),
    ("super", B(1.5, 2.0)),
    ("teuer", W(-1.5)),
    ("teure", W(-1.5)),
    ("toll", W(2.5)),
    ("tolle", W(2.5)),
    ("toller", W(2.5)),
    ("tolles", W(2.5)),
    ("total", B(1.5, 0.0)),
    ("traurig", W(-2.0)),
    ("trotzdem", R),
    ("uberfullt", W(-2.0)),
    ("uberteuert", W(-2.5)),
    ("ueberfuellt", W(-2.0)),
    ("ueberteuert", W(-2.5)),
    ("ueberteuerte", W(-2.5)),
    ("ultra", B(1.5, 0.0)),
    ("unfair", W(-2.0)),
    ("unglaublich", B(1.6, 2.5)),
    ("unmoeglich", W(-2.0)), // "unmöglich!": outrageous
    ("unvergesslich", W(3.0)),
    ("unverschaemt", W(-2.5)),
    ("unverschamt", W(-2.5)),
    ("verlieren", W(-1.5)),
    ("verloren", W(-1.5)),
    ("verschoben", W(-1.5)),
    ("verspaetung", W(-1.5)),
    ("voellig", B(1.6, 0.0)),
    ("voll", B(1.4, 0.0)), // "voll geil"
    ("vollig", B(1.6, 0.0)),
    ("vorfreude", W(2.5)),
    ("wahnsinn", W(2.5)),
    ("wahnsinnig", B(1.6, 2.0)),
    ("warteschlange", W(-1.0)),
    ("weder", N),
    ("wirklich", B(1.4, 0.0)),
    ("wucher", W(-3.0)),
    ("wucherpreise", W(-3.0)),
    ("wuetend", W(-2.5)),
    ("wunderbar", W(3.0)),
    ("wunderbare", W(3.0)),
    ("wunderschoen", W(3.0)),
    ("ziemlich", B(0.9, 0.0)),
    ("zu", B(1.3, 0.0)), // "zu teuer"
];

static ES: &[Entry] = &[
    ("aburrida", W(-2.0)),
    ("aburrido", W(-2.0)),
    ("aburrimiento", W(-2.0)),
    ("abusivo", W(-2.5)),
    ("abusivos", W(-2.5)),
    ("abuso", W(-2.5)),
    ("agotada", W(1.0)), // sold out; also "exhausted", still mild
    ("agotadas", W(1.0)),
    ("agotado", W(1.0)),
    ("agotados", W(1.0)),
    ("algo", B(0.7, 0.0)),
    ("alucinante", W(3.0)),
    ("amo", W(2.5)),
    ("amor", W(2.0)),
    ("aplazado", W(-1.5)),
    ("asco", W(-3.0)),
    ("asqueroso", W(-3.0)),
    ("aunque", R),
    ("bastante", B(1.2, 0.0)),
    ("basura", W(-2.5)),
    ("bestial", W(2.5)),
    ("bien", W(1.5)),
    ("bonita", W(2.0)),
    ("bonito", W(2.0)),
    ("bots", W(-1.5)),
    ("bravo", W(2.0)),
    ("brutal", W(2.5)), // slang: awesome
    ("buena", W(1.5)),
    ("buenas", W(1.0)), // also the greeting, hence low
    ("buenisima", W(3.0)),
    ("buenisimo", W(3.0)),
    ("bueno", W(1.5)),
    ("buenos", W(1.5)),
    ("cabreado", W(-2.5)),
    ("caida", W(-1.5)), // site down
    ("campeon", W(2.0)),
    ("campeones", W(2.5)),
    ("cancelacion", W(-2.0)),
    ("cancelada", W(-2.0)),
    ("cancelado", W(-2.0)),
    ("cancelados", W(-2.0)),
    ("caos", W(-2.0)),
    ("carisimas", W(-2.5)),
    ("carisimo", W(-2.5)),
    ("caro", W(-1.5)), // "cara" is left out: it also means "face"
    ("caros", W(-1.5)),
    ("catastrofe", W(-3.0)),
    ("chafa", W(-2.0)),
    ("chevere", W(2.0)),
    ("chido", W(2.0)),
    ("cola", W(-1.0)), // queue
    ("colas", W(-1.0)),
    ("comisiones", W(-1.0)), // ticket fees
    ("contenta", W(2.0)),
    ("contento", W(2.0)),
    ("crack", W(2.0)),
    ("cutre", W(-2.0)),
    ("decepcion", W(-2.5)),
    ("decepcionada", W(-2.5)),
    ("decepcionado", W(-2.5)),
    ("decepcionante", W(-2.5)),
    ("demasiado", B(1.5, 0.0)),
    ("derrota", W(-2.0)),
    ("desastre", W(-3.0)),
    ("desastroso", W(-3.0)),
    ("desgraciadamente", W(-1.0)),
    ("devolucion", F(-1.0)), // refund
    ("devuelvan", F(-1.5)),
    ("emocionada", W(2.5)),
    ("emocionado", W(2.5)),
    ("emocionante", W(2.5)),
    ("encanta", W(2.5)),
    ("encantado", W(2.0)),
    ("encanto", W(2.5)),
    ("enfadado", W(-2.5)),
    ("engano", W(-2.5)),
    ("enojado", W(-2.5)),
    ("epica", W(2.5)),
    ("epico", W(2.5)),
    ("error", W(-1.5)),
    ("espectacular", W(3.0)),
    ("espectaculares", W(3.0)),
    ("espera", W(-0.5)),
    ("estafa", W(-3.0)),
    ("estafador", W(-3.0)),
    ("estafadores", W(-3.0)),
    ("estafas", W(-3.0)),
    ("excelente", W(3.0)),
    ("extremadamente", B(1.8, 0.0)),
    ("fallo", W(-1.5)),
    ("fantastica", W(3.0)),
    ("fantastico", W(3.0)),
    ("fatal", W(-2.5)),
    ("fea", W(-2.0)),
    ("felices", W(2.5)),
    ("feliz", W(2.5)),
    ("feo", W(-2.0)),
    ("flipante", W(2.5)),
    ("fraude", W(-3.0)),
    ("ganamos", W(2.0)),
    ("ganar", W(1.5)),
    ("ganas", W(2.0)), // "¡qué ganas!": can't wait
    ("gano", W(1.5)),
    ("genial", W(3.0)),
    ("geniales", W(3.0)),
    ("gol", W(1.5)),
    ("golazo", W(3.0)),
    ("gracias", W(1.5)),
    ("guay", W(2.0)),
    ("harta", W(-2.0)),
    ("harto", W(-2.0)),
    ("hermosa", W(2.5)),
    ("hermoso", W(2.5)),
    ("horrible", W(-3.0)),
    ("horribles", W(-3.0)),
    ("idolo", W(2.0)),
    ("increible", W(3.0)),
    ("increiblemente", B(1.8, 0.0)),
    ("increibles", W(3.0)),
    ("injusto", W(-2.0)),
    ("inolvidable", W(3.0)),
    ("jamas", N),
    ("ladrones", W(-2.5)),
    ("lamentable", W(-3.0)),
    ("lamentablemente", W(-1.0)),
    ("lastima", W(-1.5)),
    ("legendaria", W(3.0)),
    ("legendario", W(3.0)),
    ("linda", W(2.0)),
    ("lindo", W(2.0)),
    ("magica", W(3.0)),
    ("magico", W(3.0)),
    ("mal", W(-1.5)), // "no está mal" flips to mildly positive
    ("mala", W(-2.0)),
    ("malas", W(-2.0)),
    ("malo", W(-2.0)),
    ("malos", W(-2.0)),
    ("maravillosa", W(3.0)),
    ("maravilloso", W(3.0)),
    ("mas", B(1.2, 0.0)),
    ("mediocre", W(-1.5)),
    ("mejor", W(2.0)),
    ("mejores", W(2.0)),
    ("mierda", W(-3.0)),
    ("mola", W(2.0)),
    ("molesto", W(-2.0)),
    ("muy", B(1.5, 0.0)),
    ("nada", N),
    ("nadie", N),
    ("nefasto", W(-3.0)),
    ("ni", N),
    ("ningun", N),
    ("ninguna", N),
    ("ninguno", N),
    ("no", N),
    ("no puedo esperar", F(2.5)), // calque of "can't wait"
    ("nunca", N),
    ("odio", W(-2.5)),
    ("ole", W(2.0)),
    ("patetico", W(-2.5)),
    ("penoso", W(-2.5)),
    ("peor", W(-3.0)),
    ("peores", W(-3.0)),
    ("perder", W(-1.5)),
    ("perdimos", W(-1.5)),
    ("perfecta", W(3.0)),
    ("perfecto", W(3.0)),
    ("pero", R),
    ("pesima", W(-3.0)),
    ("pesimo", W(-3.0)),
    ("poco", B(0.6, 0.0)),
    ("pospuesto", W(-1.5)),
    ("preciosa", W(2.5)),
    ("precioso", W(2.5)),
    ("realmente", B(1.5, 0.0)),
    ("recomendable", W(2.0)),
    ("recomiendo", W(2.0)),
    ("reembolso", F(-1.0)),
    ("reembolsos", F(-1.0)),
    ("revendedores", W(-2.0)), // scalpers
    ("reventa", W(-1.5)),
    ("ridiculo", W(-2.0)),
    ("robo", W(-2.5)), // "es un robo": rip-off
    ("sin", N),
    ("sin embargo", R),
    ("sino", R),
    ("sold out", W(1.0)),
    ("sumamente", B(1.8, 0.0)),
    ("super", B(1.5, 2.0)),
    ("suspendida", W(-2.0)),
    ("suspendido", W(-2.0)),
    ("tampoco", N),
    ("tan", B(1.5, 0.0)),
    ("terrible", W(-3.0)),
    ("terribles", W(-3.0)),
    ("timo", W(-3.0)),
    ("top", W(2.0)),
    ("totalmente", B(1.5, 0.0)),
    ("trampa", W(-2.0)),
    ("tremendo", B(1.5, 2.0)), // "tremendo concierto"
    ("triste", W(-2.0)),
    ("tristeza", W(-2.0)),
    ("vale la pena", W(2.5)), // worth it; "no vale la pena" flips
    ("veo la hora", F(2.5)),  // "no veo la hora": can't wait
    ("vergonzoso", W(-2.5)),
    ("verguenza", W(-2.5)),
    ("victoria", W(2.0)),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Scorer, plain text, modified text.
    type Case = (fn(&str) -> Sentiment, &'static str, &'static str);

    fn en(t: &str) -> Sentiment {
        score_in(t, Language::En)
    }
    fn fr(t: &str) -> Sentiment {
        score_in(t, Language::Fr)
    }
    fn de(t: &str) -> Sentiment {
        score_in(t, Language::De)
    }
    fn es(t: &str) -> Sentiment {
        score_in(t, Language::Es)
    }

    fn assert_pos(s: Sentiment, what: &str) {
        assert!(s.score > 0.0 && s.positive > s.negative, "{what}: {s:?}");
    }
    fn assert_neg(s: Sentiment, what: &str) {
        assert!(s.score < 0.0 && s.negative > s.positive, "{what}: {s:?}");
    }

    #[test]
    fn lexicons_sorted_folded_and_large() {
        for lang in [Language::En, Language::Fr, Language::De, Language::Es] {
            let table = lang.lexicon();
            for pair in table.windows(2) {
                assert!(
                    pair[0].0 < pair[1].0,
                    "{lang:?}: {:?} !< {:?}",
                    pair[0].0,
                    pair[1].0
                );
            }
            for (key, kind) in table {
                assert!(
                    key.bytes().all(|b| b.is_ascii_lowercase()
                        || b.is_ascii_digit()
                        || b == b'\''
                        || b == b' '),
                    "{lang:?}: key not folded: {key:?}"
                );
                // Every key must be reachable through the tokenizer; an
                // elided French article needs a following word.
                let elided = key.ends_with('\'');
                let input = if elided {
                    format!("{key}x")
                } else {
                    key.to_string()
                };
                let mut tally = Tally::default();
                let mut sc = Scanner {
                    rest: &input,
                    lang,
                    brk: false,
                };
                let mut joined = Vec::new();
                while let Some(t) = sc.next_token(&mut tally) {
                    assert!(!t.overflow, "{key:?}");
                    if !joined.is_empty() {
                        joined.push(b' ');
                    }
                    joined.extend_from_slice(t.bytes());
                }
                if elided {
                    assert_eq!(joined.pop(), Some(b'x'));
                    assert_eq!(joined.pop(), Some(b' '));
                }
                assert_eq!(
                    joined,
                    key.as_bytes(),
                    "{lang:?}: {key:?} tokenizes differently"
                );
                match *kind {
                    Kind::Word(w) | Kind::Fixed(w) => {
                        assert!(w != 0.0 && (-3.0..=3.0).contains(&w), "{key:?}")
                    }
                    Kind::Boost(m, own) => {
                        assert!(m > 0.0 && (-3.0..=3.0).contains(&own), "{key:?}")
                    }
                    _ => {}
                }
            }
            let weighted = table
                .iter()
                .filter(|(_, k)| matches!(k, Kind::Word(_) | Kind::Fixed(_)))
                .count();
            assert!(
                weighted >= 120,
                "{lang:?} has only {weighted} weighted entries"
            );
        }
    }

    #[test]
    fn language_codes() {
        assert_eq!(Language::from_code("en"), Some(Language::En));
        assert_eq!(Language::from_code("EN"), Some(Language::En));
        assert_eq!(Language::from_code("en-GB"), Some(Language::En));
        assert_eq!(Language::from_code("de_AT"), Some(Language::De));
        assert_eq!(Language::from_code("fr-CA"), Some(Language::Fr));
        assert_eq!(Language::from_code("es-419"), Some(Language::Es));
        assert_eq!(Language::from_code(" Spa "), Some(Language::Es));
        for bad in ["", "e", "english", "pt", "it-IT", "-en", "und", "ен"] {
            assert_eq!(Language::from_code(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn clearly_positive() {
        assert_pos(en("What an amazing show, the band was incredible!"), "en");
        assert_pos(fr("Concert génial, une ambiance magnifique"), "fr");
        assert_pos(de("Das Konzert war geil, einfach großartig!"), "de");
        assert_pos(
            es("¡El concierto fue increíble, un ambiente espectacular!"),
            "es",
        );
        assert!(en("What an amazing show, the band was incredible!").score > 0.5);
    }

    #[test]
    fn clearly_negative() {
        assert_neg(
            en("Total scam, overpriced tickets and a terrible queue"),
            "en",
        );
        assert_neg(
            fr("Quelle arnaque, places trop chères et organisation nulle"),
            "fr",
        );
        assert_neg(
            de("Abzocke! Völlig überteuert und schlecht organisiert"),
            "de",
        );
        assert_neg(
            es("Una estafa, entradas carísimas y organización pésima"),
            "es",
        );
        assert!(en("Total scam, overpriced tickets and a terrible queue").score < -0.5);
    }

    #[test]
    fn negated_positive_turns_negative() {
        let cases: [Case; 6] = [
            (en, "The show was good", "The show was not good"),
            (en, "The show was good", "The show wasn't very good"),
            (fr, "Le concert était bon", "Le concert n'était pas bon"),
            (fr, "C'est génial", "Ce n'est plus vraiment génial"),
            (de, "Das Konzert war gut", "Das Konzert war nicht gut"),
            (es, "El concierto fue bueno", "El concierto no fue bueno"),
        ];
        for (f, plain, negated) in cases {
            assert!(f(plain).score > 0.0, "{plain}");
            assert_neg(f(negated), negated);
        }
    }

    #[test]
    fn negated_negative_turns_mildly_positive() {
        let cases: [Case; 5] = [
            (en, "bad", "not bad at all"),
            (fr, "c'est mal", "pas mal"),
            (fr, "c'est cher", "c'est pas cher"),
            (de, "schlecht", "gar nicht schlecht"),
            (es, "está mal", "no está mal"),
        ];
        for (f, plain, negated) in cases {
            let (p, n) = (f(plain), f(negated));
            assert!(p.score < 0.0, "{plain}: {p:?}");
            assert!(n.score > p.score && n.score > 0.0, "{negated}: {n:?}");
            // Dampened: weaker than the unnegated magnitude.
            assert!(n.score < -p.score, "{negated}: {n:?} vs {p:?}");
        }
    }

    #[test]
    fn negation_scope_is_limited() {
        // The negator takes the first sentiment word only.
        assert_pos(en("no queues and great sound"), "conjunction");
        // Punctuation and contrast words close the scope.
        assert_pos(en("No. Amazing show"), "break");
        assert_pos(en("not cheap but amazing"), "but");
        // Beyond the window.
        assert!(en("never have i seen such a truly amazing crowd").score > 0.0);
    }

    #[test]
    fn intensifiers_strengthen() {
        let cases: [Case; 8] = [
            (en, "good", "very good"),
            (en, "bad", "really bad"),
            (fr, "bon", "très bon"),
            (fr, "cher", "trop cher"),
            (de, "gut", "sehr gut"),
            (de, "geil", "total geil"),
            (es, "bueno", "muy bueno"),
            (es, "caro", "tan caro"),
        ];
        for (f, plain, boosted) in cases {
            let (p, b) = (f(plain).score, f(boosted).score);
            assert!(
                p != 0.0 && b.abs() > p.abs() && b.signum() == p.signum(),
                "{boosted}: {b} vs {p}"
            );
        }
        // Diminishers weaken; a booster with nothing to boost counts alone.
        assert!(en("a bit expensive").score > en("expensive").score);
        assert!(en("slightly expensive").score < 0.0);
        assert_pos(en("Super!"), "standalone super");
        assert_pos(de("Mega!"), "standalone mega");
        assert!(en("so so good").score > en("so good").score);
    }

    #[test]
    fn cant_wait_idiom_is_positive() {
        for t in [
            "Can't wait for the concert!",
            "can’t wait!!",
            "cant wait to see them",
            "I cannot wait",
            "#cantwait",
            "CAN NOT WAIT",
        ] {
            assert_pos(en(t), t);
        }
        assert_pos(fr("J'ai trop hâte d'y être"), "fr hâte");
        assert_pos(fr("vivement samedi"), "fr vivement");
        assert_pos(de("Ich kann es kaum erwarten!"), "de kaum erwarten");
        assert_pos(es("No veo la hora de ir al concierto"), "es veo la hora");
        assert_pos(es("no puedo esperar"), "es puedo esperar");
        assert_pos(es("¡Qué ganas!"), "es ganas");
        // "can't" alone still negates.
        assert_neg(en("can't believe how great it wasn't"), "sanity");
        assert_neg(en("I can't say I liked it"), "can't negates");
    }

    #[test]
    fn ticketing_domain() {
        let sold_out = en("Sold out in minutes!");
        assert_pos(sold_out, "sold out");
        assert!(sold_out.score < en("amazing").score);
        assert_pos(de("Ausverkauft!"), "ausverkauft");
        assert_pos(es("Entradas agotadas"), "agotado");
        assert!(fr("complet").score > 0.0 && fr("complet").score < fr("génial").score);
        // Refund complaints stay negative when negated.
        assert_neg(en("no refund yet"), "no refund");
        assert_neg(fr("toujours pas de remboursement"), "pas de remboursement");
        assert_neg(de("keine Rückerstattung"), "keine Rückerstattung");
        assert_neg(es("sin reembolso"), "sin reembolso");
        assert_neg(en("what a rip-off"), "rip-off");
        assert_neg(en("total waste of money"), "waste of money");
        assert_neg(fr("c'est pas terrible"), "pas terrible");
        assert_pos(en("worth every penny"), "worth every penny");
        assert_neg(en("not worth it"), "not worth");
        assert_neg(es("no vale la pena"), "no vale la pena");
    }

    #[test]
    fn emoji_and_emoticons_count() {
        let s = score("🔥🔥😍", "en");
        assert_eq!((s.positive, s.negative), (3, 0));
        assert!(s.score > 0.0);
        let s = score("😡👎 💩", "fr");
        assert_eq!((s.positive, s.negative), (0, 3));
        assert!(s.score < 0.0);
        assert_eq!(en("❤️").positive, 1); // with variation selector
        assert_eq!(en("👏🏽👏🏽").positive, 2); // with skin tone
        assert_eq!(en("great show :)").positive, 2);
        assert_eq!(en("sad :(").negative, 2);
        assert_eq!(en("bye:D").positive, 1);
        assert_eq!(en("<3").positive, 1);
        // Not emoticons.
        let s = en("see https://example.com/a:b re:Dave 10:30 <30");
        assert_eq!((s.positive, s.negative), (0, 0));
        // Emoji are never flipped by negation.
        assert!(en("not 🔥").score > 0.0);
    }

    #[test]
    fn unknown_language_uses_english_and_emoji() {
        let s = score("amazing show 🔥", "xx");
        assert_eq!((s.positive, s.negative), (2, 0));
        assert_eq!(
            score("amazing show 🔥", ""),
            score_in("amazing show 🔥", Language::En)
        );
        // Other lexicons do not apply.
        assert_eq!(score("génial, increíble, geil", "it"), Sentiment::default());
        assert_eq!(score("😢", "ja").negative, 1);
        // The tag selects the lexicon.
        assert!(score("geil", "de-CH").score > 0.0);
        assert_eq!(score("geil", "en"), Sentiment::default());
    }

    #[test]
    fn accents_and_case_are_folded() {
        let same = |f: fn(&str) -> Sentiment, forms: &[&str]| {
            let first = f(forms[0]);
            assert!(first.score != 0.0, "{:?}", forms[0]);
            for t in forms {
                assert_eq!(f(t), first, "{t:?}");
            }
        };
        same(fr, &["génial", "genial", "GÉNIAL", "Ge\u{301}nial"]);
        same(fr, &["déçu", "decu", "DÉÇU"]);
        same(
            es,
            &["increíble", "increible", "INCREÍBLE", "increi\u{301}ble"],
        );
        same(es, &["pésimo", "pesimo"]);
        same(de, &["großartig", "grossartig", "GROSSARTIG", "GROẞARTIG"]);
        same(
            de,
            &[
                "enttäuscht",
                "enttaeuscht",
                "entta\u{308}uscht",
                "ENTTÄUSCHT",
                "enttauscht",
            ],
        );
        same(de, &["überteuert", "ueberteuert", "uberteuert"]);
        // "schön" (beautiful) must not become "schon" (already).
        assert!(de("schön").score > 0.0);
        assert_eq!(de("schon"), Sentiment::default());
        // Elongated spellings.
        assert!(en("soooo goooood").score > en("good").score);
        assert_pos(de("geiiiiil"), "geiiiiil");
        assert_pos(en("AMAAAAZING"), "AMAAAAZING");
    }

    #[test]
    fn apostrophes_are_tokenized_sensibly() {
        assert_pos(fr("l'ambiance était géniale"), "l'ambiance");
        assert_neg(fr("c\u{2019}était pas génial"), "curly apostrophe");
        assert_neg(en("don\u{2019}t like it"), "curly don't");
        assert_neg(en("it doesn't sound great"), "n't suffix");
        // A stray apostrophe is not part of a word.
        assert_pos(en("'amazing'"), "quoted");
        assert_eq!(en("'''"), Sentiment::default());
    }

    #[test]
    fn odd_input_never_panics_and_stays_in_range() {
        let long_word = "a".repeat(10_000);
        let many_positive = "amazing ".repeat(5_000);
        let many_negative = "scam 😡 ".repeat(100_000);
        let negators = "not n't ne pas nicht no ".repeat(10_000);
        let mut all_chars = String::new();
        for c in (0u32..0x3400)
            .chain(0x1F300..0x1FAFF)
            .filter_map(char::from_u32)
        {
            all_chars.push(c);
        }
        let odd = [
            "",
            " ",
            "\0\0\0",
            "\u{301}\u{301}\u{308}",
            "a\u{301}\u{302}\u{303}\u{304}\u{305}\u{306}\u{307}\u{308}",
            "İSTANBUL ﬃ ǅ ΐ ẞ",
            "\u{FEFF}\u{200B}\u{200D}\u{FFFF}\u{10FFFF}",
            "👨‍👩‍👧‍👦🏳️‍🌈",
            "مرحبا שלום 你好 こんにちは",
            "'",
            "n'",
            "'n",
            "can'",
            ":",
            ":-",
            "<",
            "<3",
            "</",
            ":'",
            "!!!???...",
            "not",
            "very",
            "super",
            "can't",
            "sin",
            "ne pas",
            long_word.as_str(),
            many_positive.as_str(),
            many_negative.as_str(),
            negators.as_str(),
            all_chars.as_str(),
        ];
        for text in odd {
            for code in ["en", "fr", "de", "es", "xx"] {
                let s = score(text, code);
                assert!(
                    s.score.is_finite() && (-1.0..=1.0).contains(&s.score),
                    "{code}: {s:?}"
                );
                if s.positive == 0 && s.negative == 0 {
                    assert_eq!(s.score, 0.0);
                }
            }
        }
        let p = en(&many_positive);
        assert!(p.score > 0.99 && p.score <= 1.0 && p.positive == 5_000);
        let n = en(&many_negative);
        assert!(n.score < -0.99 && n.score >= -1.0 && n.negative == u16::MAX);
        assert_eq!(en(&long_word), Sentiment::default());
    }
}
