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

/// A required single-line name: 1..=255 characters, not blank, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
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

/// The case-insensitive key of any name.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
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
