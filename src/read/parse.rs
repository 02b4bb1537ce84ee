//! The `--filter` text syntax: a hand-written tokenizer and recursive-descent parser.
//!
//! ```text
//! expr    := and (OR and)*
//! and     := unary (AND unary)*
//! unary   := NOT unary | primary
//! primary := '(' expr ')' | starts_with '(' column ',' string ')'
//!          | column (cmp literal | [NOT] IN '(' literal, ... ')' | IS [NOT] NULL | [NOT] LIKE string)
//! ```
//!
//! Every error names the offending token and its 1-based character position, because filters
//! are typed on command lines where the user cannot see a parse tree.
//!
//! `AND` and `OR` chains are read in a loop into one n-ary node, and a run of `NOT`s in a loop,
//! so only parentheses and `NOT` make the parser (and the tree) deeper; both are bounded by
//! [`Expr::MAX_DEPTH`], and text nested deeper is refused where it goes too deep.

use super::expr::{too_deep, Assignment, CmpOp, Expr, Literal, SetValue};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A bare or double-quoted name; `quoted` names are never keywords.
    Ident {
        name: String,
        quoted: bool,
    },
    Str(String),
    Num(String),
    Op(CmpOp),
    LParen,
    RParen,
    Comma,
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// 1-based character position of the token's first character.
    pos: usize,
    /// The source text of the token, for messages.
    text: String,
}

fn error(pos: usize, text: &str, what: &str) -> Error {
    let found = if text.is_empty() {
        "end of input".to_string()
    } else {
        format!("'{text}'")
    };
    Error::invalid(format!("filter: {what}, found {found} at position {pos}"))
}

fn tokenize(src: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = match c {
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            ',' => {
                i += 1;
                Tok::Comma
            }
            '=' => {
                i += if chars.get(i + 1) == Some(&'=') { 2 } else { 1 };
                Tok::Op(CmpOp::Eq)
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                i += 2;
                Tok::Op(CmpOp::NotEq)
            }
            '<' => match chars.get(i + 1) {
                Some('=') => {
                    i += 2;
                    Tok::Op(CmpOp::LtEq)
                }
                Some('>') => {
                    i += 2;
                    Tok::Op(CmpOp::NotEq)
                }
                _ => {
                    i += 1;
                    Tok::Op(CmpOp::Lt)
                }
            },
            '>' => {
                if chars.get(i + 1) == Some(&'=') {
                    i += 2;
                    Tok::Op(CmpOp::GtEq)
                } else {
                    i += 1;
                    Tok::Op(CmpOp::Gt)
                }
            }
            '\'' | '"' => {
                // SQL quoting: a doubled quote inside the literal stands for one quote.
                let quote = c;
                let mut value = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            let text: String = chars[start..].iter().collect();
                            return Err(error(start + 1, &text, "unterminated quoted text"));
                        }
                        Some(&q) if q == quote => {
                            if chars.get(i + 1) == Some(&quote) {
                                value.push(quote);
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(&other) => {
                            value.push(other);
                            i += 1;
                        }
                    }
                }
                if quote == '"' {
                    Tok::Ident {
                        name: value,
                        quoted: true,
                    }
                } else {
                    Tok::Str(value)
                }
            }
            c if c.is_ascii_digit()
                || ((c == '-' || c == '.')
                    && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                i += 1;
                while let Some(&d) = chars.get(i) {
                    let exponent_sign = (d == '-' || d == '+') && matches!(chars[i - 1], 'e' | 'E');
                    if d.is_ascii_alphanumeric() || d == '.' || exponent_sign {
                        i += 1;
                    } else {
                        break;
                    }
                }
                Tok::Num(chars[start..i].iter().collect())
            }
            c if c.is_alphabetic() || c == '_' => {
                while chars
                    .get(i)
                    .is_some_and(|d| d.is_alphanumeric() || *d == '_' || *d == '.')
                {
                    i += 1;
                }
                Tok::Ident {
                    name: chars[start..i].iter().collect(),
                    quoted: false,
                }
            }
            other => {
                return Err(error(start + 1, &other.to_string(), "unexpected character"));
            }
        };
        out.push(Token {
            tok,
            pos: start + 1,
            text: chars[start..i].iter().collect(),
        });
    }
    out.push(Token {
        tok: Tok::End,
        pos: chars.len() + 1,
        text: String::new(),
    });
    Ok(out)
}

/// Parses a filter expression.
pub(crate) fn parse(src: &str) -> Result<Expr> {
    let tokens = tokenize(src)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        nesting: 0,
    };
    let expr = parser.or()?;
    let next = parser.peek();
    if next.tok != Tok::End {
        return Err(error(next.pos, &next.text, "expected AND, OR or the end"));
    }
    // Within the parser's bound a tree can still be deeper: each parenthesis may add an OR
    // and an AND level.
    let depth = expr.depth();
    if depth > Expr::MAX_DEPTH {
        return Err(too_deep(depth));
    }
    Ok(expr)
}

/// Parses `column = value, ...` (an update's `SET` list): each value a literal, `NULL`, or
/// another column's name. A column assigned twice is an error naming it.
pub(crate) fn parse_assignments(src: &str) -> Result<Vec<Assignment>> {
    let tokens = tokenize(src)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        nesting: 0,
    };
    let mut out: Vec<Assignment> = Vec::new();
    loop {
        let at = parser.peek().clone();
        let column = parser.column()?;
        if out.iter().any(|a| a.column == column) {
            return Err(error(at.pos, &at.text, "this column is assigned twice"));
        }
        let eq = parser.bump();
        if eq.tok != Tok::Op(CmpOp::Eq) {
            return Err(error(eq.pos, &eq.text, "expected '=' after the column"));
        }
        let value = match &parser.peek().tok {
            Tok::Ident {
                name,
                quoted: false,
            } if name.eq_ignore_ascii_case("null") => {
                parser.bump();
                SetValue::Null
            }
            Tok::Ident { name, quoted } if *quoted || !is_reserved(name) => {
                SetValue::Column(parser.column()?)
            }
            _ => SetValue::Literal(parser.literal()?),
        };
        out.push(Assignment { column, value });
        let next = parser.bump();
        match next.tok {
            Tok::Comma => continue,
            Tok::End => break,
            _ => return Err(error(next.pos, &next.text, "expected ',' or the end")),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    /// Parentheses and `NOT`s open around the current token.
    nesting: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // The tokenizer always ends with `End`, and `bump` never moves past it.
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::End {
            self.at += 1;
        }
        t
    }

    fn is_keyword(&self, word: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident { name, quoted: false } if name.eq_ignore_ascii_case(word))
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        let yes = self.is_keyword(word);
        if yes {
            self.at += 1;
        }
        yes
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<()> {
        let t = self.bump();
        if t.tok == tok {
            Ok(())
        } else {
            Err(error(t.pos, &t.text, &format!("expected {what}")))
        }
    }

    /// One level deeper (a parenthesis or `NOT` at `t`), or the error past the bound.
    fn enter(&mut self, t: &Token) -> Result<()> {
        self.nesting += 1;
        if self.nesting > Expr::MAX_DEPTH {
            return Err(error(
                t.pos,
                &t.text,
                &format!(
                    "parentheses and NOT nest deeper than {} levels",
                    Expr::MAX_DEPTH
                ),
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr> {
        let mut left = self.and()?;
        while self.eat_keyword("OR") {
            left = left.or(self.and()?);
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr> {
        let mut left = self.unary()?;
        while self.eat_keyword("AND") {
            left = left.and(self.unary()?);
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr> {
        let mut nots = 0;
        while self.is_keyword("NOT") {
            let t = self.bump();
            self.enter(&t)?;
            nots += 1;
        }
        let mut e = self.primary()?;
        for _ in 0..nots {
            e = e.not();
        }
        self.nesting -= nots;
        Ok(e)
    }

    fn primary(&mut self) -> Result<Expr> {
        let t = self.bump();
        match t.tok {
            Tok::LParen => {
                self.enter(&t)?;
                let e = self.or()?;
                self.expect(Tok::RParen, "')'")?;
                self.nesting -= 1;
                Ok(e)
            }
            Tok::Ident { name, quoted } => {
                if !quoted
                    && name.eq_ignore_ascii_case("starts_with")
                    && self.peek().tok == Tok::LParen
                {
                    self.bump();
                    let column = self.column()?;
                    self.expect(Tok::Comma, "','")?;
                    let prefix = self.string()?;
                    self.expect(Tok::RParen, "')'")?;
                    return Ok(Expr::starts_with(column, prefix));
                }
                if !quoted && is_reserved(&name) {
                    return Err(error(t.pos, &t.text, "expected a column name"));
                }
                self.predicate(name)
            }
            _ => Err(error(t.pos, &t.text, "expected a column name, NOT or '('")),
        }
    }

    fn column(&mut self) -> Result<String> {
        let t = self.bump();
        match t.tok {
            Tok::Ident { name, quoted } if quoted || !is_reserved(&name) => Ok(name),
            _ => Err(error(t.pos, &t.text, "expected a column name")),
        }
    }

    fn string(&mut self) -> Result<String> {
        let t = self.bump();
        match t.tok {
            Tok::Str(s) => Ok(s),
            _ => Err(error(t.pos, &t.text, "expected a quoted string")),
        }
    }

    fn predicate(&mut self, column: String) -> Result<Expr> {
        if let Tok::Op(op) = self.peek().tok {
            self.bump();
            let value = self.literal()?;
            return Ok(Expr::cmp(column, op, value));
        }
        if self.eat_keyword("IS") {
            let negated = self.eat_keyword("NOT");
            if !self.eat_keyword("NULL") {
                let t = self.peek();
                return Err(error(t.pos, &t.text, "expected NULL"));
            }
            return Ok(Expr::IsNull { column, negated });
        }
        let negated = self.eat_keyword("NOT");
        if self.eat_keyword("IN") {
            self.expect(Tok::LParen, "'(' after IN")?;
            let mut values = vec![self.literal()?];
            while self.peek().tok == Tok::Comma {
                self.bump();
                values.push(self.literal()?);
            }
            self.expect(Tok::RParen, "',' or ')'")?;
            return Ok(Expr::In {
                column,
                values,
                negated,
            });
        }
        if self.is_keyword("LIKE") {
            self.bump();
            let t = self.peek().clone();
            let pattern = self.string()?;
            let e = like(column, &pattern).ok_or_else(|| {
                error(t.pos, &t.text, "only LIKE 'prefix%' patterns are supported")
            })?;
            return Ok(if negated { e.not() } else { e });
        }
        let t = self.peek();
        let what = if negated {
            "expected IN or LIKE after NOT"
        } else {
            "expected a comparison operator, IN, IS or LIKE"
        };
        Err(error(t.pos, &t.text, what))
    }

    fn literal(&mut self) -> Result<Literal> {
        let t = self.bump();
        match &t.tok {
            Tok::Str(s) => Ok(Literal::Str(s.clone())),
            Tok::Num(n) => {
                if let Ok(v) = n.parse::<i64>() {
                    Ok(Literal::Int(v))
                } else if let Ok(v) = n.parse::<f64>() {
                    Ok(Literal::Float(v))
                } else {
                    Err(error(t.pos, &t.text, "malformed number"))
                }
            }
            Tok::Ident {
                name,
                quoted: false,
            } if name.eq_ignore_ascii_case("true") => Ok(Literal::Bool(true)),
            Tok::Ident {
                name,
                quoted: false,
            } if name.eq_ignore_ascii_case("false") => Ok(Literal::Bool(false)),
            Tok::Ident {
                name,
                quoted: false,
            } if name.eq_ignore_ascii_case("null") => Err(error(
                t.pos,
                &t.text,
                "comparing with NULL is never true; use IS NULL or IS NOT NULL",
            )),
            _ => Err(error(t.pos, &t.text, "expected a literal value")),
        }
    }
}

fn is_reserved(word: &str) -> bool {
    [
        "AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "TRUE", "FALSE",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(word))
}

/// `LIKE 'abc%'` is a prefix test and `LIKE 'abc'` an equality; other wildcards are refused
/// rather than silently mis-evaluated.
fn like(column: String, pattern: &str) -> Option<Expr> {
    let (body, prefix) = match pattern.strip_suffix('%') {
        Some(body) => (body, true),
        None => (pattern, false),
    };
    if body.contains(['%', '_', '\\']) {
        return None;
    }
    Some(if prefix {
        Expr::starts_with(column, body)
    } else {
        Expr::cmp(column, CmpOp::Eq, body)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_parse_and_bad_ones_name_the_token() {
        let set =
            parse_assignments("fare = 0, zone = 'JFK', note = NULL, total = fare, \"x y\" = -1.5")
                .unwrap();
        assert_eq!(set.len(), 5);
        assert_eq!(set[0].value, SetValue::Literal(Literal::Int(0)));
        assert_eq!(set[1].value, SetValue::Literal(Literal::Str("JFK".into())));
        assert_eq!(set[2].value, SetValue::Null);
        assert_eq!(set[3].value, SetValue::Column("fare".into()));
        assert_eq!(set[4].column, "x y");
        assert_eq!(set[4].value, SetValue::Literal(Literal::Float(-1.5)));
        for bad in [
            "",
            "a",
            "a =",
            "a = 1 b = 2",
            "a = 1,",
            "a < 1",
            "a = 1, a = 2",
            "= 1",
            "a = (1)",
        ] {
            assert!(parse_assignments(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn precedence_and_over_or() {
        let e = parse("a = 1 OR b = 2 AND NOT c IS NULL").unwrap();
        assert_eq!(
            e,
            Expr::cmp("a", CmpOp::Eq, 1)
                .or(Expr::cmp("b", CmpOp::Eq, 2).and(Expr::is_null("c").not()))
        );
    }

    #[test]
    fn numbers_strings_and_like() {
        let e = parse("x >= -1.5e3 AND s LIKE 'it''s%' AND n <> 7").unwrap();
        assert_eq!(
            e,
            Expr::cmp("x", CmpOp::GtEq, -1500.0)
                .and(Expr::starts_with("s", "it's"))
                .and(Expr::cmp("n", CmpOp::NotEq, 7))
        );
    }
}
