//! Tag expressions: `&&`, `||`, `!` and parentheses over tags, with precedence
//! `!` > `&&` > `||` (as in Azure Notification Hubs), e.g.
//! `(sport:rugby || sport:tennis) && (cc:UK || cc:US) && !fan:gold`.
//!
//! Bounded: at most [`MAX_EXPR_LEN`] bytes, [`MAX_DEPTH`] levels of `(`/`!` nesting and
//! [`MAX_TAGS_IN_EXPR`] tags. Parse errors give the byte position (0-based).
//! Evaluation against installations lives in [`crate::index`] (bitmaps) and
//! [`TagExpr::matches`] (one tag set, for tests and brute-force checks).

use std::fmt;

use crate::installation::{MAX_TAG_LEN, validate::is_tag_byte};

/// Longest expression, in bytes.
pub const MAX_EXPR_LEN: usize = 1024;
/// Deepest nesting of parentheses and `!`.
pub const MAX_DEPTH: usize = 32;
/// Most tags in one expression.
pub const MAX_TAGS_IN_EXPR: usize = 20;

/// A parsed tag expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagExpr {
    /// Installations carrying this tag.
    Tag(String),
    /// Live installations not matching the inner expression.
    Not(Box<TagExpr>),
    /// Both sides.
    And(Box<TagExpr>, Box<TagExpr>),
    /// Either side.
    Or(Box<TagExpr>, Box<TagExpr>),
}

/// Why an expression did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Something else was found where the grammar needed `expected`.
    #[error("expected {expected} at position {position}")]
    Expected {
        /// What the grammar needed.
        expected: &'static str,
        /// Byte offset, 0-based.
        position: usize,
    },
    /// A bound was exceeded.
    #[error("{what} at position {position}")]
    Limit {
        /// Which bound, for a person.
        what: String,
        /// Byte offset, 0-based.
        position: usize,
    },
}

impl TagExpr {
    /// Parses an expression.
    pub fn parse(src: &str) -> Result<TagExpr, ParseError> {
        if src.len() > MAX_EXPR_LEN {
            return Err(ParseError::Limit {
                what: format!("expression longer than {MAX_EXPR_LEN} bytes"),
                position: MAX_EXPR_LEN,
            });
        }
        let mut p = Parser {
            s: src.as_bytes(),
            pos: 0,
            depth: 0,
            tags: 0,
        };
        let e = p.or()?;
        p.skip_ws();
        if p.pos < p.s.len() {
            return Err(p.expected("'&&', '||' or the end"));
        }
        Ok(e)
    }

    /// Every tag named in the expression, in order (with repeats).
    pub fn tags(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            TagExpr::Tag(t) => out.push(t),
            TagExpr::Not(e) => e.collect(out),
            TagExpr::And(a, b) | TagExpr::Or(a, b) => {
                a.collect(out);
                b.collect(out);
            }
        }
    }

    /// Whether a tag set matches (`has(tag)` says whether the installation carries it).
    pub fn matches(&self, has: &dyn Fn(&str) -> bool) -> bool {
        match self {
            TagExpr::Tag(t) => has(t),
            TagExpr::Not(e) => !e.matches(has),
            TagExpr::And(a, b) => a.matches(has) && b.matches(has),
            TagExpr::Or(a, b) => a.matches(has) || b.matches(has),
        }
    }
}

impl fmt::Display for TagExpr {
    /// With only the parentheses the tree needs, so that it parses back to the same tree
    /// and nests no deeper than the text it was parsed from (full parenthesisation
    /// nested `a || b || c ...` one level per operator, past [`MAX_DEPTH`]). Operators
    /// are spaced, so text written without spaces near [`MAX_EXPR_LEN`] prints longer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_within(f, Precedence::Or)
    }
}

/// Binding strength, weakest first: the context an expression is printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Precedence {
    Or,
    And,
    Unary,
}

impl TagExpr {
    /// Prints `self` as an operand of an operator binding as strongly as `context`,
    /// in parentheses when it binds more weakly. Both operators are left-associative,
    /// so a right operand of the same operator needs them too.
    fn fmt_within(&self, f: &mut fmt::Formatter<'_>, context: Precedence) -> fmt::Result {
        let (own, left, op, a, b) = match self {
            TagExpr::Tag(t) => return f.write_str(t),
            TagExpr::Not(e) => {
                f.write_str("!")?;
                return e.fmt_within(f, Precedence::Unary);
            }
            TagExpr::And(a, b) => (Precedence::And, Precedence::And, " && ", a, b),
            TagExpr::Or(a, b) => (Precedence::Or, Precedence::Or, " || ", a, b),
        };
        let parens = own < context;
        if parens {
            f.write_str("(")?;
        }
        a.fmt_within(f, left)?;
        f.write_str(op)?;
        let right = match own {
            Precedence::Or => Precedence::And,
            _ => Precedence::Unary,
        };
        b.fmt_within(f, right)?;
        if parens {
            f.write_str(")")?;
        }
        Ok(())
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
    tags: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn expected(&self, expected: &'static str) -> ParseError {
        ParseError::Expected {
            expected,
            position: self.pos,
        }
    }

    fn eat(&mut self, tok: &[u8]) -> bool {
        self.skip_ws();
        if self.s[self.pos..].starts_with(tok) {
            self.pos += tok.len();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<TagExpr, ParseError> {
        let mut left = self.and()?;
        while self.eat(b"||") {
            let right = self.and()?;
            left = TagExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<TagExpr, ParseError> {
        let mut left = self.unary()?;
        while self.eat(b"&&") {
            let right = self.unary()?;
            left = TagExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::Limit {
                what: format!("nesting deeper than {MAX_DEPTH}"),
                position: self.pos,
            });
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<TagExpr, ParseError> {
        self.skip_ws();
        let start = self.pos;
        if self.eat(b"!") {
            self.pos = start + 1;
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(TagExpr::Not(Box::new(inner)));
        }
        if self.eat(b"(") {
            self.enter()?;
            let inner = self.or()?;
            if !self.eat(b")") {
                return Err(self.expected("')'"));
            }
            self.depth -= 1;
            return Ok(inner);
        }
        self.tag()
    }

    fn tag(&mut self) -> Result<TagExpr, ParseError> {
        self.skip_ws();
        let start = self.pos;
        while self.pos < self.s.len() && is_tag_byte(self.s[self.pos]) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.expected("a tag or '('"));
        }
        if self.pos - start > MAX_TAG_LEN {
            return Err(ParseError::Limit {
                what: format!("tag longer than {MAX_TAG_LEN} characters"),
                position: start,
            });
        }
        self.tags += 1;
        if self.tags > MAX_TAGS_IN_EXPR {
            return Err(ParseError::Limit {
                what: format!("more than {MAX_TAGS_IN_EXPR} tags"),
                position: start,
            });
        }
        // Tag bytes are ASCII, so this slice is valid UTF-8.
        let tag = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
        Ok(TagExpr::Tag(tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TagExpr {
        TagExpr::Tag(s.to_string())
    }

    #[test]
    fn precedence_not_over_and_over_or() {
        let e = TagExpr::parse("a || b && !c").unwrap();
        let want = TagExpr::Or(
            Box::new(t("a")),
            Box::new(TagExpr::And(
                Box::new(t("b")),
                Box::new(TagExpr::Not(Box::new(t("c")))),
            )),
        );
        assert_eq!(e, want);
        let e = TagExpr::parse("(a || b) && c").unwrap();
        assert_eq!(e.to_string(), "(a || b) && c");
        let e = TagExpr::parse("a || (b || c) && d").unwrap();
        assert_eq!(e.to_string(), "a || (b || c) && d");
        let e = TagExpr::parse("((a && b)) && (c && !(d))").unwrap();
        assert_eq!(e.to_string(), "a && b && (c && !d)");
        let e = TagExpr::parse("!(a && b)").unwrap();
        assert_eq!(e.to_string(), "!(a && b)");
        let e = TagExpr::parse("!!a").unwrap();
        assert_eq!(e.to_string(), "!!a");
    }

    #[test]
    fn real_expression_parses() {
        let e = TagExpr::parse("(sport:rugby || sport:tennis) && (cc:UK || cc:US)").unwrap();
        assert_eq!(e.tags(), ["sport:rugby", "sport:tennis", "cc:UK", "cc:US"]);
        let e = TagExpr::parse("  !fan:gold ").unwrap();
        assert_eq!(e, TagExpr::Not(Box::new(t("fan:gold"))));
        assert!(TagExpr::parse("user@x.com && a_b#1-2.3").is_ok());
    }

    #[test]
    fn errors_carry_positions() {
        let err = |s: &str| TagExpr::parse(s).unwrap_err().to_string();
        assert_eq!(err(""), "expected a tag or '(' at position 0");
        assert_eq!(
            err("sport:rugby && "),
            "expected a tag or '(' at position 15"
        );
        assert_eq!(err("(a || b"), "expected ')' at position 7");
        assert_eq!(err("a b"), "expected '&&', '||' or the end at position 2");
        assert_eq!(err("a & b"), "expected '&&', '||' or the end at position 2");
        assert_eq!(err("a && $"), "expected a tag or '(' at position 5");
        assert_eq!(err("a)"), "expected '&&', '||' or the end at position 1");
        assert_eq!(err("!"), "expected a tag or '(' at position 1");
    }

    #[test]
    fn limits_are_enforced() {
        let deep = format!("{}a{}", "(".repeat(33), ")".repeat(33));
        let e = TagExpr::parse(&deep).unwrap_err().to_string();
        assert!(e.starts_with("nesting deeper than 32"), "{e}");
        let ok = format!("{}a{}", "(".repeat(32), ")".repeat(32));
        assert!(TagExpr::parse(&ok).is_ok());
        let nots = format!("{}a", "!".repeat(33));
        assert!(TagExpr::parse(&nots).is_err());
        let many = (0..21)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>()
            .join(" || ");
        let e = TagExpr::parse(&many).unwrap_err().to_string();
        assert!(e.starts_with("more than 20 tags"), "{e}");
        let twenty = (0..20)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>()
            .join(" || ");
        assert!(TagExpr::parse(&twenty).is_ok());
        let long = "a".repeat(1025);
        assert!(
            TagExpr::parse(&long)
                .unwrap_err()
                .to_string()
                .contains("1024")
        );
        let long_tag = "a".repeat(121);
        assert!(
            TagExpr::parse(&long_tag)
                .unwrap_err()
                .to_string()
                .contains("120")
        );
    }

    #[test]
    fn printed_expressions_parse_back_within_the_depth_limit() {
        // Found by fuzzing (fuzz/corpus/tag_expr/): printed fully parenthesised, this
        // chain of `||` nested one level per operator and no longer parsed.
        let src = "!!!!!!!!!!!!!!!!!!!!!!!! (S) &&n||es||t||s||e||t||e||tt||!!!!!!!!!!!!!!c";
        let e = TagExpr::parse(src).unwrap();
        let printed = e.to_string();
        assert_eq!(TagExpr::parse(&printed), Ok(e), "{printed}");
        let chain = (0..20).map(|i| format!("t{i}")).collect::<Vec<_>>();
        let e = TagExpr::parse(&chain.join("||")).unwrap();
        assert_eq!(e.to_string(), chain.join(" || "));
    }

    #[test]
    fn matches_evaluates_one_set() {
        let e = TagExpr::parse("(a || b) && !c").unwrap();
        let has = |set: &'static [&'static str]| move |t: &str| set.contains(&t);
        assert!(e.matches(&has(&["a"])));
        assert!(e.matches(&has(&["b", "d"])));
        assert!(!e.matches(&has(&["a", "c"])));
        assert!(!e.matches(&has(&["d"])));
    }
}
