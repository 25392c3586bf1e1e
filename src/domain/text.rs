//! Validated text: names, free text, e-mail addresses and ids.
//!
//! Every constructor is the only way in, so a value of these types is always valid.

use uuid::Uuid;

/// Longest name: incidents, types, organizations, attributes, options, assignees.
pub const NAME_MAX: usize = 255;
/// Longest description or root cause.
pub const LONG_TEXT_MAX: usize = 10_000;
/// Longest free-text attribute value.
pub const ATTRIBUTE_TEXT_MAX: usize = 4_000;
/// Longest e-mail address (RFC 5321 path limit).
pub const EMAIL_MAX: usize = 254;

/// A required single-line name: 1..=255 characters, not blank, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// A name kept as given (an incident's).
    pub fn parse(raw: String) -> Result<Self, String> {
        if raw.trim().is_empty() {
            return Err("must not be blank".into());
        }
        if raw.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        check_length(&raw, NAME_MAX)?;
        Ok(Self(raw))
    }

    /// A name that tells one entry of reference data from the others, taken as
    /// people read it: in NFC, trimmed, runs of white space made one space, with
    /// at least one visible character, and without the zero-width and bidi
    /// control characters that make two names look alike (ZWJ and ZWNJ only
    /// between two letters, where some scripts need them).
    pub fn parse_unique(raw: String) -> Result<Self, String> {
        if raw.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        if let Some(c) = raw.chars().find(|c| is_invisible_control(*c)) {
            return Err(format!(
                "must not contain zero-width or bidi control characters, got U+{:04X}",
                u32::from(c)
            ));
        }
        if !joiners_between_letters(&raw) {
            return Err("may hold a zero-width joiner or non-joiner only between two letters".into());
        }
        let name = normalize(&raw);
        if name.is_empty() {
            return Err("must not be blank".into());
        }
        if !name.chars().any(is_visible) {
            return Err("must hold at least one visible character".into());
        }
        check_length(&name, NAME_MAX)?;
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive key under which names are unique and matched.
    pub fn key(&self) -> String {
        name_key(&self.0)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The key under which names are unique and matched: the name as people read
/// it (`normalize`), without joiners, in lower case. `Café` in NFC and NFD,
/// `Spam` and ` spam `, share one key.
pub fn name_key(name: &str) -> String {
    normalize(name)
        .chars()
        .filter(|c| !matches!(*c, ZWNJ | ZWJ))
        .flat_map(char::to_lowercase)
        .collect()
}

const ZWNJ: char = '\u{200C}';
const ZWJ: char = '\u{200D}';

/// NFC, trimmed, each run of white space one space.
fn normalize(raw: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let composed: String = raw.nfc().collect();
    composed.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Characters that show nothing and can make two names look alike or reorder
/// what is shown: zero-width spaces, word joiners, the byte-order mark, and the
/// bidi marks, embeddings, overrides and isolates.
fn is_invisible_control(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{061C}' | '\u{180E}' | '\u{00AD}' | '\u{034F}'
    )
}

/// Whether every ZWJ and ZWNJ stands between two letters.
fn joiners_between_letters(raw: &str) -> bool {
    let chars: Vec<char> = raw.chars().collect();
    chars.iter().enumerate().all(|(i, c)| {
        !matches!(*c, ZWNJ | ZWJ)
            || (i > 0 && chars[i - 1].is_alphabetic() && chars.get(i + 1).is_some_and(|n| n.is_alphabetic()))
    })
}

/// A character that shows something by itself: not white space, not a
/// combining mark, not a joiner.
fn is_visible(c: char) -> bool {
    !c.is_whitespace() && !unicode_normalization::char::is_combining_mark(c) && !matches!(c, ZWNJ | ZWJ)
}

/// Optional free text; empty means absent. Line breaks and tabs are allowed, other
/// control characters (NUL among them) are not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(String);

impl Text {
    pub fn parse_optional(raw: Option<String>, max: usize) -> Result<Option<Self>, String> {
        match raw {
            None => Ok(None),
            Some(raw) if raw.is_empty() => Ok(None),
            Some(raw) => Self::parse(raw, max).map(Some),
        }
    }

    pub fn parse(raw: String, max: usize) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("must not be empty".into());
        }
        if raw.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err("must not contain control characters other than line breaks and tabs".into());
        }
        check_length(&raw, max)?;
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A plausible e-mail address: one `@` with text on both sides, no spaces, at most
/// 254 characters. Deliverability is not this service's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: String) -> Result<Self, String> {
        check_length(&raw, EMAIL_MAX)?;
        let valid = match raw.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !raw.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if valid {
            Ok(Self(raw))
        } else {
            Err("must be an e-mail address such as name@example.com".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Addresses compare case-insensitively (Unicode lower case).
    pub fn matches(&self, other: &str) -> bool {
        self.0.to_lowercase() == other.to_lowercase()
    }
}

/// Parses a UUID in its canonical hyphenated form (any case).
pub fn parse_uuid(raw: &str) -> Result<Uuid, String> {
    if raw.is_empty() {
        return Err("is required".into());
    }
    if raw.len() != 36 {
        return Err(format!(
            "must be a UUID such as 0190b2a4-7c1e-7cc0-9a4e-1f2b3c4d5e6f, got {}",
            shorten(raw)
        ));
    }
    Uuid::try_parse(raw).map_err(|_| format!("must be a UUID, got {}", shorten(raw)))
}

fn check_length(raw: &str, max: usize) -> Result<(), String> {
    let length = raw.chars().count();
    if length > max {
        Err(format!("must be at most {max} characters, got {length}"))
    } else {
        Ok(())
    }
}

/// Quotes a caller's value for an error message without echoing a huge one.
pub fn shorten(raw: &str) -> String {
    const SHOWN: usize = 40;
    if raw.chars().count() <= SHOWN {
        format!("{raw:?}")
    } else {
        let head: String = raw.chars().take(SHOWN).collect();
        format!("{head:?}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_compared_as_people_read_them() {
        let nfc = Name::parse_unique("Caf\u{e9}".into()).unwrap();
        let nfd = Name::parse_unique("Cafe\u{301}".into()).unwrap();
        assert_eq!(nfc, nfd, "stored in NFC");
        assert_eq!(nfc.key(), name_key("CAFE\u{301}"));
        assert_eq!(
            Name::parse_unique("  Spam   Filter ".into()).unwrap().as_str(),
            "Spam Filter"
        );
        assert_eq!(name_key("Spam "), name_key("spam"));
        for refused in [
            "Mal\u{200B}ware",
            "\u{202E}erawlaM",
            "\u{200B}\u{200B}",
            "\u{301}\u{302}",
            "\u{200D}x",
            "a\u{FEFF}",
        ] {
            assert!(Name::parse_unique(refused.into()).is_err(), "{refused:?}");
        }
        // Persian needs ZWNJ between letters; it is kept, and ignored in keys.
        let persian = Name::parse_unique("\u{645}\u{6CC}\u{200C}\u{62E}\u{648}\u{627}\u{647}\u{645}".into()).unwrap();
        assert!(persian.as_str().contains(ZWNJ));
        assert!(!persian.key().contains(ZWNJ));
    }

    #[test]
    fn name_rejects_blank_control_and_long() {
        assert!(Name::parse("   ".into()).is_err());
        assert!(Name::parse("a\u{0}b".into()).is_err());
        assert!(Name::parse("x".repeat(NAME_MAX + 1)).is_err());
        assert!(Name::parse("é".repeat(NAME_MAX)).is_ok());
    }

    #[test]
    fn text_allows_line_breaks_and_treats_empty_as_absent() {
        assert_eq!(Text::parse_optional(Some(String::new()), 10), Ok(None));
        assert!(Text::parse("line\nbreak\ttab".into(), 100).is_ok());
        assert!(Text::parse("bell\u{7}".into(), 100).is_err());
    }

    #[test]
    fn email_needs_one_at_and_no_spaces() {
        assert!(Email::parse("a@b.example".into()).is_ok());
        assert!(Email::parse("a@b@c".into()).is_err());
        assert!(Email::parse("a b@c".into()).is_err());
        assert!(Email::parse("@c".into()).is_err());
        assert!(Email::parse("A@B.example".into()).unwrap().matches("a@b.EXAMPLE"));
    }

    #[test]
    fn uuid_must_be_hyphenated() {
        assert!(parse_uuid("0190b2a4-7c1e-7cc0-9a4e-1f2b3c4d5e6f").is_ok());
        assert!(parse_uuid("0190b2a47c1e7cc09a4e1f2b3c4d5e6f").is_err());
        assert!(parse_uuid("").is_err());
        assert!(parse_uuid("not-a-uuid").is_err());
    }
}
