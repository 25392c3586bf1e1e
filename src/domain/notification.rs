//! The catalogue of breach-notification rules: who must be told, within what
//! window, counted from when, for which jurisdictions, under which law. It is
//! data, kept in `catalogue/notification-rules.toml` and compiled in; every
//! entry names its citation and source, so a reader can audit what the
//! service assumes. A jurisdiction no rule covers has no rule: none is guessed.

use std::{collections::HashSet, fmt, sync::LazyLock};

use chrono::NaiveDate;
use serde::Deserialize;

use super::{
    enums::{ClockStart, Recipient, WindowUnit},
    jurisdiction::{self, Jurisdiction},
};

/// The catalogue as written, versioned with the code.
const SOURCE: &str = include_str!("../../catalogue/notification-rules.toml");

/// The time a law gives, from its clock start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub unit: WindowUnit,
    /// Zero when the unit is `None`.
    pub amount: u32,
}

impl Window {
    /// `72 hours`, `30 calendar days`, `3 business days` or `none`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        if text == "none" {
            return Ok(Self {
                unit: WindowUnit::None,
                amount: 0,
            });
        }
        let (amount, unit) = text.split_once(' ').ok_or_else(|| {
            format!("window {text:?} is not `N hours`, `N calendar days`, `N business days` or `none`")
        })?;
        let amount: u32 = amount
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("window {text:?} must count a positive whole number"))?;
        let unit = match unit {
            "hours" => WindowUnit::Hours,
            "calendar days" => WindowUnit::CalendarDays,
            "business days" => WindowUnit::BusinessDays,
            _ => return Err(format!("window {text:?} has an unknown unit")),
        };
        Ok(Self { unit, amount })
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.unit {
            WindowUnit::None => f.write_str("none"),
            WindowUnit::Hours => write!(f, "{} hours", self.amount),
            WindowUnit::CalendarDays => write!(f, "{} calendar days", self.amount),
            WindowUnit::BusinessDays => write!(f, "{} business days", self.amount),
        }
    }
}

/// A place a rule covers: a country (all of its states or provinces, where
/// it has them), or one state or province.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Place {
    pub country_code: &'static str,
    pub state_province_code: Option<&'static str>,
}

impl Place {
    fn contains(&self, jurisdiction: &Jurisdiction) -> bool {
        self.country_code == jurisdiction.country_code
            && self
                .state_province_code
                .is_none_or(|state| Some(state) == jurisdiction.state_province_code)
    }
}

/// One rule of one law for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Stable, for guidances and audits (`eu-gdpr-33`).
    pub id: String,
    /// What the rule covers as the catalogue names it: a group (`EEA`), a
    /// country (`GBR`) or a state or province (`USA-CA`).
    pub covers: String,
    /// The places it covers, a group expanded to its members.
    pub places: Vec<Place>,
    pub recipient: Recipient,
    pub window: Window,
    pub clock_start: ClockStart,
    /// The rule applies from this many affected individuals in its
    /// jurisdiction (inclusive); none when it applies whatever the count.
    pub min_affected: Option<u64>,
    /// When the version of the law this rule encodes took effect.
    pub effective: NaiveDate,
    /// The article or section.
    pub citation: String,
    /// Where the text of the law, or its regulator's statement of it, is read.
    pub source_url: String,
    /// What the law makes the duty depend on, in its own terms (informational:
    /// the incident's `notificationNeeded` is the team's answer to it).
    pub condition: String,
    /// What the encoding assumes or leaves out.
    pub note: String,
}

impl Rule {
    /// Whether the incident's `dateDiscovered` stands in for a clock start the
    /// incident does not record (a determination or an assessment).
    pub fn clock_start_assumed(&self) -> bool {
        matches!(self.clock_start, ClockStart::Determination | ClockStart::Assessment)
    }

    pub fn covers(&self, jurisdiction: &Jurisdiction) -> bool {
        self.places.iter().any(|place| place.contains(jurisdiction))
    }

    fn covers_country(&self, country_code: &str) -> bool {
        self.places.iter().any(|place| place.country_code == country_code)
    }
}

/// The rules, in the catalogue's order.
#[derive(Debug)]
pub struct Catalogue {
    /// Its `version`: the date of the last review of its rules.
    pub version: String,
    rules: Vec<Rule>,
}

impl Catalogue {
    /// Every rule, or those covering a place of one country.
    pub fn list(&self, country_code: Option<&str>) -> Vec<&Rule> {
        let wanted = country_code.map(str::to_ascii_uppercase);
        self.rules
            .iter()
            .filter(|rule| wanted.as_deref().is_none_or(|code| rule.covers_country(code)))
            .collect()
    }

    /// The rules that cover `jurisdiction`.
    pub fn covering<'a, 'j>(&'a self, jurisdiction: &'j Jurisdiction) -> impl Iterator<Item = &'a Rule> + use<'a, 'j> {
        self.rules.iter().filter(|rule| rule.covers(jurisdiction))
    }
}

/// The catalogue compiled in; a test keeps it valid.
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: LazyLock<Catalogue> =
        LazyLock::new(|| parse(SOURCE).expect("catalogue/notification-rules.toml is valid (tested)"));
    &CATALOGUE
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: String,
    #[serde(default)]
    groups: std::collections::BTreeMap<String, Vec<String>>,
    rules: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    covers: String,
    recipient: String,
    window: String,
    clock_start: String,
    #[serde(default)]
    min_affected: Option<u64>,
    effective: String,
    citation: String,
    source_url: String,
    #[serde(default)]
    condition: String,
    #[serde(default)]
    note: String,
}

/// Reads and checks a catalogue: every fault is named with its rule.
fn parse(source: &str) -> Result<Catalogue, Vec<String>> {
    let file: File = toml::from_str(source).map_err(|e| vec![e.to_string()])?;
    let mut faults = Vec::new();
    for (name, members) in &file.groups {
        for code in members {
            if !jurisdiction::is_country(code) || code.to_ascii_uppercase() != *code {
                faults.push(format!(
                    "group {name}: {code} is not an upper-case ISO 3166 alpha-3 code"
                ));
            }
        }
        if members.iter().collect::<HashSet<_>>().len() != members.len() {
            faults.push(format!("group {name} lists a country twice"));
        }
    }
    let mut ids = HashSet::new();
    let mut rules = Vec::new();
    for entry in file.rules {
        let id = entry.id.clone();
        let mut fault = |what: String| faults.push(format!("rule {id}: {what}"));
        if !ids.insert(entry.id.clone()) {
            fault("the id is used twice".into());
        }
        if entry.id.is_empty()
            || !entry
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            fault("the id must be lower-case letters, digits and hyphens".into());
        }
        let places = places(&entry.covers, &file.groups).unwrap_or_else(|e| {
            fault(e);
            Vec::new()
        });
        let recipient = entry.recipient.parse::<Recipient>().unwrap_or_else(|_| {
            fault(format!(
                "recipient {:?} is not one of {:?}",
                entry.recipient,
                Recipient::NAMES
            ));
            Recipient::Authority
        });
        let clock_start = entry.clock_start.parse::<ClockStart>().unwrap_or_else(|_| {
            fault(format!(
                "clock_start {:?} is not one of {:?}",
                entry.clock_start,
                ClockStart::NAMES
            ));
            ClockStart::Awareness
        });
        let window = Window::parse(&entry.window).unwrap_or_else(|e| {
            fault(e);
            Window {
                unit: WindowUnit::None,
                amount: 0,
            }
        });
        let effective = NaiveDate::parse_from_str(&entry.effective, "%Y-%m-%d").unwrap_or_else(|_| {
            fault(format!("effective {:?} is not a date YYYY-MM-DD", entry.effective));
            NaiveDate::MIN
        });
        if entry.citation.trim().is_empty() {
            fault("the citation is empty".into());
        }
        if !entry.source_url.starts_with("https://") {
            fault(format!("source_url {:?} is not an https address", entry.source_url));
        }
        if entry.min_affected == Some(0) {
            fault("min_affected 0 is no threshold: leave it out".into());
        }
        rules.push(Rule {
            id: entry.id,
            covers: entry.covers,
            places,
            recipient,
            window,
            clock_start,
            min_affected: entry.min_affected,
            effective,
            citation: entry.citation,
            source_url: entry.source_url,
            condition: entry.condition,
            note: entry.note,
        });
    }
    if faults.is_empty() {
        Ok(Catalogue {
            version: file.version,
            rules,
        })
    } else {
        Err(faults)
    }
}

/// The places `covers` names: a group, a country (`GBR`) or a state (`USA-CA`).
fn places(covers: &str, groups: &std::collections::BTreeMap<String, Vec<String>>) -> Result<Vec<Place>, String> {
    let codes: Vec<&str> = match groups.get(covers) {
        Some(members) => members.iter().map(String::as_str).collect(),
        None => vec![covers],
    };
    codes
        .into_iter()
        .map(|code| {
            let place = match code.split_once('-') {
                Some((country, state)) => jurisdiction::by_code(country, Some(state)).map(|j| Place {
                    country_code: j.country_code,
                    state_province_code: j.state_province_code,
                }),
                // A country covers all of its states or provinces, where it has them.
                None => jurisdiction::country(code)
                    .filter(|c| *c == code)
                    .map(|country_code| Place {
                        country_code,
                        state_province_code: None,
                    }),
            };
            place.ok_or_else(|| format!("covers {code:?}, which is no group, country or state of the catalogue"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_in_the_repository_is_valid() {
        let catalogue = parse(SOURCE).unwrap_or_else(|faults| panic!("{}", faults.join("\n")));
        assert!(!catalogue.rules.is_empty());
    }

    #[test]
    fn windows_are_read_as_written() {
        assert_eq!(Window::parse("72 hours").unwrap().to_string(), "72 hours");
        assert_eq!(Window::parse("3 business days").unwrap().amount, 3);
        assert_eq!(Window::parse("none").unwrap().unit, WindowUnit::None);
        for bad in ["72", "0 hours", "-1 hours", "3 weeks", "three hours", ""] {
            assert!(Window::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_faulty_catalogue_is_refused_naming_each_fault() {
        let faults = parse(
            r#"
            version = "t"
            [groups]
            X = ["DEU", "deu", "ZZZ"]
            [[rules]]
            id = "Bad id"
            covers = "USA-ZZ"
            recipient = "REGULATOR"
            window = "3 weeks"
            clock_start = "NOW"
            min_affected = 0
            effective = "2018-13-01"
            citation = ""
            source_url = "http://example.org"
            "#,
        )
        .unwrap_err();
        for expected in [
            "group X: deu",
            "group X: ZZZ",
            "the id must be",
            "covers \"USA-ZZ\"",
            "recipient \"REGULATOR\"",
            "window \"3 weeks\"",
            "clock_start \"NOW\"",
            "min_affected 0",
            "effective \"2018-13-01\"",
            "citation is empty",
            "not an https address",
        ] {
            assert!(faults.iter().any(|f| f.contains(expected)), "{expected} in {faults:#?}");
        }
    }

    #[test]
    fn a_group_covers_each_member_and_a_state_only_itself() {
        let catalogue = catalogue();
        let germany = jurisdiction::by_code("DEU", None).unwrap();
        assert!(catalogue.covering(germany).any(|rule| rule.covers == "EEA"));
        let california = jurisdiction::by_code("USA", Some("CA")).unwrap();
        let texas = jurisdiction::by_code("USA", Some("TX")).unwrap();
        assert!(catalogue.covering(california).all(|rule| rule.covers == "USA-CA"));
        assert!(catalogue.covering(texas).all(|rule| rule.covers == "USA-TX"));
        let wyoming = jurisdiction::by_code("USA", Some("WY")).unwrap();
        assert_eq!(catalogue.covering(wyoming).count(), 0, "no rule is guessed");
    }
}
