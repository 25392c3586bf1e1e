//! The original API's JSON bodies, as serde types of the gateway's own, and their
//! mechanical translation to and from the domain's plain types and views.
//! Requests carry every field as it arrived (strings for ids and vocabularies),
//! so that the domain checks them and names each violation; only JSON types, the
//! form of times and unknown keys are checked here.

mod incident;
mod reference;
mod revision;
mod search;
mod workflow;

use std::{collections::BTreeSet, sync::LazyLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{ObjectBuilder, OneOfBuilder, Ref, RefOr, Schema, Type, schema::SchemaType},
};

pub use self::{incident::*, reference::*, revision::*, search::*, workflow::*};
use crate::domain::{
    FieldPath,
    enums::{
        AssigneeKind, AttributeKind, ClockStart, IncidentStatus, NotificationNeeded, NotifyState, Recipient,
        SourceType, Urgency, WindowUnit,
    },
    input::{REQUEST_SOURCE_TYPES, WireTime},
    inventory::LINK_SOURCE_TYPES,
    text::NAME_MAX,
};

/// The closed vocabularies, each one named schema of the document: a nullable
/// field refers to it beside `null` rather than repeating its values.
pub fn vocabularies() -> Vec<(&'static str, Schema)> {
    let request_source_types = REQUEST_SOURCE_TYPES.map(SourceType::as_str);
    let link_source_types = LINK_SOURCE_TYPES.map(SourceType::as_str);
    [
        ("SourceType", SourceType::NAMES),
        ("SourceTypeInput", &request_source_types[..]),
        ("LinkSourceType", &link_source_types[..]),
        ("NotificationNeeded", NotificationNeeded::NAMES),
        ("IncidentStatus", IncidentStatus::NAMES),
        ("AssigneeType", AssigneeKind::NAMES),
        ("AttributeType", AttributeKind::NAMES),
        ("Urgency", Urgency::NAMES),
        ("NotifyState", NotifyState::NAMES),
        ("Recipient", Recipient::NAMES),
        ("ClockStart", ClockStart::NAMES),
        ("WindowUnit", WindowUnit::NAMES),
    ]
    .into_iter()
    .map(|(name, values)| {
        let schema = ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .enum_values(Some(values.iter().copied()))
            .build();
        (name, Schema::Object(schema))
    })
    .collect()
}

/// A field holding a value of the vocabulary `name`.
fn vocabulary(name: &str) -> Ref {
    Ref::from_schema_name(name)
}

/// The same where `null` is allowed (and means the default, or none).
fn nullable(schema: impl Into<RefOr<Schema>>) -> OneOfBuilder {
    OneOfBuilder::new()
        .item(schema)
        .item(ObjectBuilder::new().schema_type(SchemaType::new(Type::Null)))
}

fn source_type() -> Ref {
    vocabulary("SourceType")
}

fn notification_needed() -> Ref {
    vocabulary("NotificationNeeded")
}

fn incident_status() -> Ref {
    vocabulary("IncidentStatus")
}

fn assignee_type() -> Ref {
    vocabulary("AssigneeType")
}

fn attribute_type() -> Ref {
    vocabulary("AttributeType")
}

fn optional_source_type() -> OneOfBuilder {
    nullable(vocabulary("SourceTypeInput"))
}

fn optional_link_source_type() -> OneOfBuilder {
    nullable(vocabulary("LinkSourceType"))
}

fn optional_notification_needed() -> OneOfBuilder {
    nullable(vocabulary("NotificationNeeded"))
}

fn optional_assignee_type() -> OneOfBuilder {
    nullable(vocabulary("AssigneeType"))
}

fn optional_attribute_type() -> OneOfBuilder {
    nullable(vocabulary("AttributeType"))
}

fn optional_notify_state() -> OneOfBuilder {
    nullable(vocabulary("NotifyState"))
}

fn urgency() -> Ref {
    vocabulary("Urgency")
}

fn notify_state() -> Ref {
    vocabulary("NotifyState")
}

fn recipient() -> Ref {
    vocabulary("Recipient")
}

fn clock_start() -> Ref {
    vocabulary("ClockStart")
}

fn window_unit() -> Ref {
    vocabulary("WindowUnit")
}

/// A name: not blank, at most `NAME_MAX` characters.
fn name() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .min_length(Some(1))
        .max_length(Some(NAME_MAX))
        .pattern(Some(r"\S"))
}

/// An optional id: a UUID, or empty or `null` for none.
fn optional_id() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(
            "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$",
        ))
}

/// Pattern of a country code: three letters, in any case.
const COUNTRY_CODE: &str = "^[A-Za-z]{3}$";
const COUNTRY_CODE_DESCRIPTION: &str = "An ISO 3166-1 alpha-3 code of the jurisdiction catalogue \
     (`GET /api/incident/v1/reference/jurisdictions`), accepted in any case and shown upper case.";

/// A country code in a body; absent or `null`: `USA`.
fn optional_country_code() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(COUNTRY_CODE))
        .description(Some(COUNTRY_CODE_DESCRIPTION))
}

/// A required country code in a body.
fn country_code() -> ObjectBuilder {
    optional_country_code().schema_type(SchemaType::new(Type::String))
}

/// The same as a query parameter, where empty means none.
fn country_code_parameter() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .pattern(Some("^([A-Za-z]{3})?$"))
        .description(Some(COUNTRY_CODE_DESCRIPTION))
}

/// The forms of time both transports accept: RFC 3339 with an upper-case `T`, 0
/// to 9 fractional digits, and an offset, `Z` or `±hh:mm` (what the protobuf JSON
/// mapping of `google.protobuf.Timestamp` accepts).
const TIME_FORMS: &str = "an RFC 3339 time with an offset, such as 2026-11-20T09:30:00Z or \
     2026-11-20T09:30:00.250+02:00 (upper-case T and Z, 0 to 9 fractional digits)";

/// A time in a request body, in one of the forms of `TIME_FORMS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub DateTime<Utc>);

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let written = String::deserialize(deserializer)?;
        parse_time(&written).map(Time).map_err(serde::de::Error::custom)
    }
}

impl From<Time> for WireTime {
    fn from(time: Time) -> Self {
        time.0.into()
    }
}

fn parse_time(written: &str) -> Result<DateTime<Utc>, String> {
    let refused = || format!("must be {TIME_FORMS}, got {}", crate::domain::text::shorten(written));
    if !has_time_form(written.as_bytes()) {
        // A time that would have the form with an offset lacks only that.
        let lacks_offset = has_time_form(format!("{written}Z").as_bytes());
        return Err(if lacks_offset {
            format!("needs an offset (Z or ±hh:mm): {}", refused())
        } else {
            refused()
        });
    }
    DateTime::parse_from_rfc3339(written)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| refused())
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)`, digits where digits go.
fn has_time_form(b: &[u8]) -> bool {
    let digits = |range: std::ops::Range<usize>| b.get(range).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let fixed = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !fixed {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let count = fraction.iter().take_while(|d| d.is_ascii_digit()).count();
        if !(1..=9).contains(&count) {
            return false;
        }
        rest = &fraction[count..];
    }
    match rest {
        b"Z" => true,
        [sign, h1, h2, b':', m1, m2] => {
            matches!(sign, b'+' | b'-') && [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit())
        }
        _ => false,
    }
}

/// A time field of a request.
fn optional_time() -> ObjectBuilder {
    time().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

/// A required time, in one of the forms of `TIME_FORMS`.
fn time() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::DateTime,
        )))
        .pattern(Some(
            r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$",
        ))
        .description(Some(format!("Must be {TIME_FORMS}.")))
}

/// The keys of a request object that none of its fields took. Serde reads a
/// struct from a JSON array as well as from an object, unless the struct has a
/// flattened field: every request struct has this one, so that `[null, null]`
/// is refused where `{"from": ..., "to": ...}` is expected, and its unknown keys
/// are named (`KnownKeys`) rather than dropped.
#[derive(Debug, Clone, Default)]
pub struct Extra(BTreeSet<String>);

impl<'de> Deserialize<'de> for Extra {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let keys = std::collections::BTreeMap::<String, serde::de::IgnoredAny>::deserialize(deserializer)?;
        Ok(Extra(keys.into_keys().collect()))
    }
}

impl Extra {
    /// Records the path of each unknown key, those in any of `ignored` aside.
    fn report(&self, at: &FieldPath, ignored: &[&BTreeSet<String>], found: &mut Vec<FieldPath>) {
        for key in self.0.iter().filter(|k| !ignored.iter().any(|set| set.contains(*k))) {
            found.push(at.clone().field(key));
        }
    }

    /// Records the path of each unknown key.
    fn refuse(&self, at: &FieldPath, found: &mut Vec<FieldPath>) {
        self.report(at, &[], found);
    }
}

/// A request body that names the keys it did not know, so that a typo is refused
/// instead of being dropped (and, in a PUT, clearing the field meant).
pub trait KnownKeys {
    /// Pushes the path of every unknown key at or below `at`.
    fn unknown_keys(&self, at: &FieldPath, found: &mut Vec<FieldPath>);
}

/// A merge patch, as it arrives: its keys are checked once it is read as the
/// body it patches.
impl KnownKeys for serde_json::Map<String, serde_json::Value> {
    fn unknown_keys(&self, _: &FieldPath, _: &mut Vec<FieldPath>) {}
}

/// The read-only keys of answer `A` that request `R` does not take: accepted and
/// ignored in `R`, since clients send back what they read.
fn read_only<A: PartialSchema, R: PartialSchema>() -> BTreeSet<String> {
    let answer = property_names::<A>();
    let request = property_names::<R>();
    answer.difference(&request).cloned().collect()
}

fn property_names<T: PartialSchema>() -> BTreeSet<String> {
    match T::schema() {
        RefOr::T(Schema::Object(object)) => object.properties.into_keys().collect(),
        _ => BTreeSet::new(),
    }
}

/// The read-only keys of the incident, of an attribute value and of a
/// jurisdiction as the API shows them, and the keys only a create takes: taken
/// from the schemas once, not on every request.
static READ_ONLY: LazyLock<ReadOnly> = LazyLock::new(|| ReadOnly {
    incident: read_only::<Incident, IncidentUpdate>(),
    attribute_value: read_only::<AttributeValue, AttributeValueInput>(),
    jurisdiction: read_only::<JurisdictionInformation, JurisdictionInput>(),
    create_only: property_names::<IncidentCreateOnly>(),
});

struct ReadOnly {
    incident: BTreeSet<String>,
    attribute_value: BTreeSet<String>,
    jurisdiction: BTreeSet<String>,
    create_only: BTreeSet<String>,
}

/// Every error: a message, a stable reason, and for 400 each field at fault, as a
/// path of the request body (`attributeValues.Ticket[0].id`), or the name of a
/// path or query parameter or a header.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    /// Stable and UPPER_SNAKE (`INVALID_ARGUMENT`, `STALE_ETAG`, `MISSING_SCOPE`, ...).
    pub reason: String,
    pub violations: Vec<Violation>,
    /// For 409 `NOTIFICATIONS_REQUIRED`: each condition the change waits for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preconditions: Vec<PreconditionFailure>,
}

/// A condition a change waits for (`google.rpc.PreconditionFailure.Violation`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PreconditionFailure {
    /// `NOTIFICATION_REQUIRED`.
    #[serde(rename = "type")]
    pub kind: String,
    /// What it is about: a jurisdiction and a recipient, `DEU/AUTHORITY`.
    pub subject: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Violation {
    pub field: String,
    pub description: String,
}

/// `/readyz` and `/healthz`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `UP` or `DOWN`.
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_need_an_offset_and_the_forms_of_protobuf_json() {
        for accepted in [
            "2026-11-20T09:30:00Z",
            "2026-11-20T09:30:00.250Z",
            "2026-11-20T09:30:00.123456789+02:00",
            "2026-11-20T09:30:00-05:30",
        ] {
            assert!(parse_time(accepted).is_ok(), "{accepted}");
        }
        let missing = parse_time("2026-11-20T09:30:00").unwrap_err();
        assert!(missing.starts_with("needs an offset"), "{missing}");
        assert!(
            parse_time("2026-11-20T09:30:00.5")
                .unwrap_err()
                .starts_with("needs an offset")
        );
        for refused in [
            "2026-11-20T09:30:00+0200",
            "2026-11-20 09:30:00Z",
            "2026-11-20t09:30:00Z",
            "2026-11-20T09:30:00z",
            "2026-11-20T09:30:00.Z",
            "2026-11-20T09:30:00.1234567890Z",
            "2026-02-30T09:30:00Z",
            "yesterday",
        ] {
            assert!(parse_time(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn read_only_keys_are_the_answers_that_requests_do_not_take() {
        let keys = &READ_ONLY.incident;
        for key in ["id", "number", "createdDT", "incidentStatus", "etag", "jurisdictions"] {
            assert_eq!(keys.contains(key), key != "jurisdictions", "{key}");
        }
        assert!(READ_ONLY.attribute_value.contains("displayLabel"));
        assert!(READ_ONLY.jurisdiction.contains("countryName"));
        assert!(!READ_ONLY.jurisdiction.contains("countryCode"));
    }
}
