//! The notifications an incident's team has sent: one per recipient of an
//! impacted jurisdiction, recorded with `RecordNotification`. A notice
//! addresses that recipient's guidances there; it stays on the incident when
//! the facts change (a notification sent is not undone), and shows wherever
//! its jurisdiction is impacted.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    Error,
    enums::{Recipient, by_name, parse_choice},
    error::Violations,
    incident::Incident,
    input::{WireTime, parse_time},
    jurisdiction::{self, Jurisdiction, JurisdictionRef},
    revision::FieldChange,
    text::{NAME_MAX, Text},
};

/// A notification sent: to whom, in which jurisdiction, when, and the
/// recipient's reference for it (a case number), if any.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    #[serde(flatten, with = "by_codes")]
    pub jurisdiction: &'static Jurisdiction,
    #[serde(with = "by_name")]
    pub recipient: Recipient,
    pub notified_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// A notification as `RecordNotification` receives it, every field unchecked.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct NoticeFields {
    pub country_code: String,
    pub state_province_code: Option<String>,
    pub recipient: String,
    pub notified_at: Option<WireTime>,
    pub reference: Option<String>,
}

impl Notice {
    /// Parses a notification sent no later than `now`, naming each violation
    /// by its field (`countryCode`, `recipient`, `notifiedAt`, `reference`).
    pub fn parse(v: &mut Violations, fields: NoticeFields, now: DateTime<Utc>) -> Option<Self> {
        let NoticeFields {
            country_code,
            state_province_code,
            recipient,
            notified_at,
            reference,
        } = fields;
        let jurisdiction = if country_code.is_empty() {
            v.add("countryCode", "is required");
            None
        } else {
            let named = JurisdictionRef {
                country_code,
                state_province_code,
                ..Default::default()
            };
            match jurisdiction::resolve(&named) {
                Ok(found) => Some(found),
                Err(problems) => {
                    for (field, problem) in problems {
                        v.add(field, problem);
                    }
                    None
                }
            }
        };
        let recipient = if recipient.is_empty() {
            v.add("recipient", "is required");
            None
        } else {
            v.check(
                "recipient",
                parse_choice(
                    Some(&recipient),
                    Recipient::Authority,
                    &[Recipient::Authority, Recipient::Individuals],
                ),
            )
        };
        let notified_at = match notified_at.map(parse_time) {
            None => {
                v.add("notifiedAt", "is required");
                None
            }
            Some(Ok(at)) if at > now => {
                v.add("notifiedAt", "must not be in the future");
                None
            }
            Some(at) => v.check("notifiedAt", at),
        };
        let reference = v.check("reference", Text::parse_optional(reference, NAME_MAX));
        Some(Self {
            jurisdiction: jurisdiction?,
            recipient: recipient?,
            notified_at: notified_at?,
            reference: reference?.map(Text::into_inner),
        })
    }

    /// Whether this notice and `other` are to the same recipient in the same
    /// jurisdiction: a later one replaces the earlier.
    fn same_duty(&self, other: &Notice) -> bool {
        self.jurisdiction.id == other.jurisdiction.id && self.recipient == other.recipient
    }
}

/// The incident's notices with `notice` recorded, replacing an earlier one to
/// the same recipient there, and the change as the history shows it; no
/// change when the same notice is recorded again. The jurisdiction must be
/// one the incident impacts now.
pub fn record(incident: &Incident, notice: Notice) -> Result<(Vec<Notice>, Option<FieldChange>), Error> {
    if !incident
        .jurisdictions
        .iter()
        .any(|impacted| impacted.jurisdiction.id == notice.jurisdiction.id)
    {
        let field = match notice.jurisdiction.state_province_code {
            Some(_) => "stateProvinceCode",
            None => "countryCode",
        };
        return Err(Error::invalid(field, "is not a jurisdiction of this incident"));
    }
    let earlier = incident.notices.iter().find(|n| n.same_duty(&notice));
    if earlier == Some(&notice) {
        return Ok((incident.notices.clone(), None));
    }
    let change = FieldChange {
        field: "notifications".to_owned(),
        before: earlier.map_or(Value::Null, to_json),
        after: to_json(&notice),
    };
    let mut notices: Vec<Notice> = incident
        .notices
        .iter()
        .filter(|n| !n.same_duty(&notice))
        .cloned()
        .collect();
    notices.push(notice);
    Ok((notices, Some(change)))
}

fn to_json(notice: &Notice) -> Value {
    serde_json::to_value(notice).unwrap_or(Value::Null)
}

/// A jurisdiction kept as its codes (`countryCode`, `stateProvinceCode`), as
/// requests name it.
mod by_codes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

    use super::{Jurisdiction, jurisdiction};

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Codes {
        country_code: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state_province_code: Option<String>,
    }

    pub fn serialize<S: Serializer>(found: &&'static Jurisdiction, s: S) -> Result<S::Ok, S::Error> {
        Codes {
            country_code: found.country_code.to_owned(),
            state_province_code: found.state_province_code.map(str::to_owned),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static Jurisdiction, D::Error> {
        let codes = Codes::deserialize(d)?;
        jurisdiction::by_code(&codes.country_code, codes.state_province_code.as_deref())
            .ok_or_else(|| D::Error::custom(format!("unknown jurisdiction {}", codes.country_code)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(country: &str, state: Option<&str>, recipient: &str, at: &str) -> NoticeFields {
        NoticeFields {
            country_code: country.into(),
            state_province_code: state.map(str::to_owned),
            recipient: recipient.into(),
            notified_at: Some(at.parse::<DateTime<Utc>>().unwrap().into()),
            reference: Some("ICO-123".into()),
        }
    }

    fn faults(fields: NoticeFields) -> Vec<String> {
        let mut v = Violations::new();
        let now = "2026-12-02T12:00:00Z".parse().unwrap();
        let parsed = Notice::parse(&mut v, fields, now);
        assert_eq!(parsed.is_some(), v.is_empty());
        v.into_vec().into_iter().map(|v| v.field.to_string()).collect()
    }

    #[test]
    fn each_fault_names_its_field() {
        assert!(faults(fields("GBR", None, "AUTHORITY", "2026-12-01T00:00:00Z")).is_empty());
        assert_eq!(
            faults(fields("GBR", None, "PRESS", "2026-12-03T00:00:00Z")),
            ["recipient", "notifiedAt"]
        );
        assert_eq!(
            faults(fields("", None, "", "2026-12-01T00:00:00Z")),
            ["countryCode", "recipient"]
        );
        assert_eq!(
            faults(fields("USA", Some("XX"), "INDIVIDUALS", "2026-12-01T00:00:00Z")),
            ["stateProvinceCode"]
        );
        let mut without_time = fields("GBR", None, "AUTHORITY", "2026-12-01T00:00:00Z");
        without_time.notified_at = None;
        without_time.reference = Some("a\u{0}b".into());
        assert_eq!(faults(without_time), ["notifiedAt", "reference"]);
    }

    #[test]
    fn a_notice_is_kept_by_its_codes() {
        let notice = Notice {
            jurisdiction: jurisdiction::by_code("USA", Some("CA")).unwrap(),
            recipient: Recipient::Individuals,
            notified_at: "2026-12-01T08:00:00Z".parse().unwrap(),
            reference: None,
        };
        let json = serde_json::to_value(&notice).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "countryCode": "USA", "stateProvinceCode": "CA",
                "recipient": "INDIVIDUALS", "notifiedAt": "2026-12-01T08:00:00Z"
            })
        );
        assert_eq!(serde_json::from_value::<Notice>(json).unwrap(), notice);
    }
}
