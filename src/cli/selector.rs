//! `-l/--selector`: a label selector checked before any request, with Kubernetes' grammar
//! (`k8s.io/apimachinery/pkg/labels.Parse`).
//!
//! The server is the authority and gets the text as typed; checking it here turns a typo into
//! a usage error (exit code 2) that points at the mistake, instead of a `400 Bad Request` after
//! the client was built. Pure, and property-tested (tests/fuzz_parsers.rs): whatever parses
//! renders back, with [`Selector`]'s `Display`, to text that parses to the same selector.
//!
//! Grammar: requirements separated by `,`; each is `KEY`, `!KEY`, `KEY=VALUE`, `KEY==VALUE`,
//! `KEY!=VALUE`, `KEY in (V1,V2)`, `KEY notin (V1,V2)`, `KEY>N` or `KEY<N`; spaces around
//! tokens are ignored. Keys are qualified names (`[PREFIX/]NAME`), values label values.

use std::fmt;

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    Exists(String),
    DoesNotExist(String),
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    GreaterThan(String, i64),
    LessThan(String, i64),
}

/// A parsed, valid label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector(pub Vec<Requirement>);

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Requirement::Exists(k) => write!(f, "{k}"),
            Requirement::DoesNotExist(k) => write!(f, "!{k}"),
            Requirement::Equals(k, v) => write!(f, "{k}={v}"),
            Requirement::NotEquals(k, v) => write!(f, "{k}!={v}"),
            Requirement::In(k, vs) => write!(f, "{k} in ({})", vs.join(",")),
            Requirement::NotIn(k, vs) => write!(f, "{k} notin ({})", vs.join(",")),
            Requirement::GreaterThan(k, n) => write!(f, "{k}>{n}"),
            Requirement::LessThan(k, n) => write!(f, "{k}<{n}"),
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    Not,
    Eq,
    DoubleEq,
    NotEq,
    In,
    NotIn,
    Gt,
    Lt,
    Open,
    Close,
    Comma,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Ident(s) => format!("{s:?}"),
            Token::Not => "'!'".to_owned(),
            Token::Eq => "'='".to_owned(),
            Token::DoubleEq => "'=='".to_owned(),
            Token::NotEq => "'!='".to_owned(),
            Token::In => "'in'".to_owned(),
            Token::NotIn => "'notin'".to_owned(),
            Token::Gt => "'>'".to_owned(),
            Token::Lt => "'<'".to_owned(),
            Token::Open => "'('".to_owned(),
            Token::Close => "')'".to_owned(),
            Token::Comma => "','".to_owned(),
        }
    }
}

fn is_special(c: char) -> bool {
    c.is_whitespace() || matches!(c, '!' | '(' | ')' | ',' | '=' | '<' | '>')
}

fn lex(s: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next_is_eq = chars.peek().is_some_and(|(_, n)| *n == '=');
        let token = match c {
            c if c.is_whitespace() => continue,
            '!' if next_is_eq => {
                chars.next();
                Token::NotEq
            }
            '!' => Token::Not,
            '=' if next_is_eq => {
                chars.next();
                Token::DoubleEq
            }
            '=' => Token::Eq,
            '>' => Token::Gt,
            '<' => Token::Lt,
            '(' => Token::Open,
            ')' => Token::Close,
            ',' => Token::Comma,
            _ => {
                let mut end = s.len();
                while let Some((j, n)) = chars.peek() {
                    if is_special(*n) {
                        end = *j;
                        break;
                    }
                    chars.next();
                }
                match &s[i..end] {
                    "in" => Token::In,
                    "notin" => Token::NotIn,
                    word => Token::Ident(word.to_owned()),
                }
            }
        };
        out.push(token);
    }
    out
}

/// Parses and checks a label selector. The error says what is wrong and where.
pub fn parse_selector(s: &str) -> Result<Selector, String> {
    let tokens = lex(s);
    if tokens.is_empty() {
        return Err("empty selector".to_owned());
    }
    let mut p = Parser { tokens, pos: 0 };
    let mut reqs = Vec::new();
    loop {
        reqs.push(p.requirement()?);
        match p.next() {
            None => break,
            Some(Token::Comma) => {}
            Some(t) => {
                return Err(format!(
                    "expected ',' or the end after a requirement, found {}",
                    t.describe()
                ));
            }
        }
    }
    Ok(Selector(reqs))
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn key(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Token::Ident(k)) => {
                validate_key(&k)?;
                Ok(k)
            }
            Some(t) => Err(format!("expected a label key, found {}", t.describe())),
            None => Err("expected a label key, found the end".to_owned()),
        }
    }

    /// A value after `=`, `==` or `!=`: may be empty (`app=`).
    fn value(&mut self) -> Result<String, String> {
        match self.peek() {
            Some(Token::Ident(_)) => {
                let Some(Token::Ident(v)) = self.next() else {
                    unreachable!("peeked an identifier")
                };
                validate_value(&v)?;
                Ok(v)
            }
            None | Some(Token::Comma) => Ok(String::new()),
            Some(t) => Err(format!("expected a label value, found {}", t.describe())),
        }
    }

    fn set(&mut self) -> Result<Vec<String>, String> {
        match self.next() {
            Some(Token::Open) => {}
            Some(t) => {
                return Err(format!(
                    "expected '(' after in/notin, found {}",
                    t.describe()
                ));
            }
            None => return Err("expected '(' after in/notin, found the end".to_owned()),
        }
        let mut values = Vec::new();
        loop {
            let v = match self.peek() {
                Some(Token::Ident(_)) => {
                    let Some(Token::Ident(v)) = self.next() else {
                        unreachable!("peeked an identifier")
                    };
                    validate_value(&v)?;
                    v
                }
                _ => String::new(),
            };
            values.push(v);
            match self.next() {
                Some(Token::Comma) => {}
                Some(Token::Close) => break,
                Some(t) => {
                    return Err(format!(
                        "expected ',' or ')' in a set, found {}",
                        t.describe()
                    ));
                }
                None => return Err("unclosed '(' in a set of values".to_owned()),
            }
        }
        if values.iter().all(String::is_empty) {
            return Err("in/notin needs at least one value".to_owned());
        }
        Ok(values)
    }

    fn number(&mut self) -> Result<i64, String> {
        match self.next() {
            Some(Token::Ident(n)) => n
                .parse::<i64>()
                .map_err(|_| format!("expected an integer after '>' or '<', found {n:?}")),
            Some(t) => Err(format!(
                "expected an integer after '>' or '<', found {}",
                t.describe()
            )),
            None => Err("expected an integer after '>' or '<', found the end".to_owned()),
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        if self.peek() == Some(&Token::Not) {
            self.next();
            return Ok(Requirement::DoesNotExist(self.key()?));
        }
        let key = self.key()?;
        Ok(match self.peek() {
            None | Some(Token::Comma) => Requirement::Exists(key),
            Some(Token::Eq | Token::DoubleEq) => {
                self.next();
                Requirement::Equals(key, self.value()?)
            }
            Some(Token::NotEq) => {
                self.next();
                Requirement::NotEquals(key, self.value()?)
            }
            Some(Token::In) => {
                self.next();
                Requirement::In(key, self.set()?)
            }
            Some(Token::NotIn) => {
                self.next();
                Requirement::NotIn(key, self.set()?)
            }
            Some(Token::Gt) => {
                self.next();
                Requirement::GreaterThan(key, self.number()?)
            }
            Some(Token::Lt) => {
                self.next();
                Requirement::LessThan(key, self.number()?)
            }
            Some(t) => {
                return Err(format!(
                    "expected an operator (=, ==, !=, in, notin, >, <) after {key:?}, found {}",
                    t.describe()
                ));
            }
        })
    }
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, at most 63 characters.
fn is_label_name(s: &str) -> bool {
    let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && ends(s.chars().next())
        && ends(s.chars().last())
}

/// A label key: `[PREFIX/]NAME`, PREFIX a DNS subdomain.
fn validate_key(k: &str) -> Result<(), String> {
    let (prefix, name) = match k.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if let Some(p) = prefix
        && crate::cli::target::validate_object_name(p).is_err()
    {
        return Err(format!(
            "invalid label key {k:?}: the prefix must be a DNS subdomain (lowercase letters, digits, '-' and '.')"
        ));
    }
    if !is_label_name(name) {
        return Err(format!(
            "invalid label key {k:?}: at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

fn validate_value(v: &str) -> Result<(), String> {
    if v.is_empty() || is_label_name(v) {
        return Ok(());
    }
    Err(format!(
        "invalid label value {v:?}: at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        parse_selector(s).unwrap().to_string()
    }

    #[test]
    fn kubectl_forms_parse_and_render_canonically() {
        assert_eq!(ok("app=api"), "app=api");
        assert_eq!(ok("app == api , tier!=db"), "app=api,tier!=db");
        assert_eq!(ok("app="), "app=");
        assert_eq!(
            ok("env in (prod, staging),!canary"),
            "env in (prod,staging),!canary"
        );
        assert_eq!(ok("env notin (a)"), "env notin (a)");
        assert_eq!(ok("example.com/team=a,x"), "example.com/team=a,x");
        assert_eq!(ok("gen>3,gen<-1"), "gen>3,gen<-1");
    }

    #[test]
    fn mistakes_are_named() {
        for (s, want) in [
            ("", "empty selector"),
            ("  ", "empty selector"),
            ("app=api,", "expected a label key, found the end"),
            ("app:api", "invalid label key"),
            ("app=a b", "expected ',' or the end"),
            ("app in a", "expected '('"),
            ("app in (a", "unclosed"),
            ("app in ()", "at least one value"),
            ("app>x", "integer"),
            ("Bad_/x=y", "prefix"),
            ("app=-x", "invalid label value"),
            ("app=(", "expected a label value"),
            ("=x", "expected a label key"),
            ("app ! x", "expected an operator"),
        ] {
            let err = parse_selector(s).unwrap_err();
            assert!(err.contains(want), "{s:?}: {err}");
        }
    }
}
