//! Searching the register: filters, full-text words, sorting and paging, parsed
//! from plain fields with every violation named by its path.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    enums::{IncidentStatus, NotificationNeeded, SourceType, parse_choice},
    error::Violations,
    guidance,
    incident::Incident,
    input::{WireTime, parse_time},
    text::{Name, parse_uuid, shorten},
    token::PageTokens,
};

/// Incidents per page when the caller does not say.
pub const SIZE_DEFAULT: u64 = 20;
/// Most incidents per page.
pub const SIZE_MAX: u64 = 2_000;
/// How deep offset paging goes (page × size); beyond it, page tokens.
pub const OFFSET_MAX: u64 = 10_000;
/// Most characters of `fullText`, and most words in it.
pub const FULL_TEXT_MAX: usize = 500;
pub const WORDS_MAX: usize = 16;
/// Most values of one filter.
pub const FILTER_VALUES_MAX: usize = 1_000;

/// A time range as it arrives; either end may be missing.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct RangeFields {
    pub from: Option<WireTime>,
    pub to: Option<WireTime>,
}

/// The filters as they arrive. Enumerations carry their original names.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FilterFields {
    pub incident_ids: Vec<String>,
    pub numbers: Vec<i64>,
    pub assignee_ids: Vec<String>,
    pub incident_type_ids: Vec<String>,
    pub org_group_ids: Vec<String>,
    pub include_descendant_orgs: bool,
    pub created_by: Vec<String>,
    pub notification_needed: Vec<String>,
    pub incident_status: Vec<String>,
    pub source_type: Vec<String>,
    pub date_occurred: Option<RangeFields>,
    pub date_discovered: Option<RangeFields>,
    pub deadline: Option<RangeFields>,
    pub created_dt: Option<RangeFields>,
    pub updated_dt: Option<RangeFields>,
    /// Left out of a search's fingerprint when absent, so that page tokens
    /// sealed before it existed stay valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_due: Option<RangeFields>,
    /// Left out of the fingerprint when empty, like `notification_due`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stage_names: Vec<String>,
}

/// A search as it arrives.
#[derive(Debug, Clone, Default)]
pub struct SearchFields {
    pub filters: FilterFields,
    pub full_text: String,
    pub page: i32,
    /// Absent: the default size.
    pub size: Option<i32>,
    pub sort: String,
    pub page_token: String,
}

/// A time range, both ends included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Valid filters. An empty list filters nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub incident_ids: Vec<Uuid>,
    pub numbers: Vec<i64>,
    pub assignee_ids: Vec<Uuid>,
    pub incident_type_ids: Vec<Uuid>,
    pub org_group_ids: Vec<Uuid>,
    pub include_descendant_orgs: bool,
    pub created_by: Vec<Uuid>,
    pub notification_needed: Vec<NotificationNeeded>,
    pub incident_status: Vec<IncidentStatus>,
    pub source_type: Vec<SourceType>,
    pub date_occurred: TimeRange,
    pub date_discovered: TimeRange,
    pub deadline: TimeRange,
    pub created_at: TimeRange,
    pub updated_at: TimeRange,
    /// Incidents with a deadline still due in the range (see `guidance::due`).
    pub notification_due: TimeRange,
    /// Keys of stage names (`name_key`), of any workflow.
    pub stage_names: Vec<String>,
}

/// What results are ordered by; ties always by id, in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    CreatedDate,
    Name,
    Number,
    UpdatedDt,
    /// The earliest deadline still due; incidents with none sort after every deadline.
    NotificationDeadline,
    /// When the incident was closed; open ones sort after every closed one.
    DateClosed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

/// The sort value of the last incident of a page, where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SortValue {
    Time(DateTime<Utc>),
    Text(String),
    Number(i64),
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// At an offset: `page` × size.
    Page(u64),
    /// Right after an incident of the previous page (keyset paging), with the
    /// number of matches counted for the first page.
    After {
        value: SortValue,
        id: Uuid,
        page: u64,
        total: u64,
    },
}

/// A valid search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub filters: Filters,
    /// Lower-case words that must all begin a word of the incident.
    pub words: Vec<String>,
    pub sort: Sort,
    pub size: u64,
    pub start: Start,
    /// Names the filters, words and sort, so a page token is only used with its search.
    pub fingerprint: String,
}

/// A page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    pub incidents: Vec<Incident>,
    pub total_elements: u64,
    pub page: u64,
    pub size: u64,
    pub next_page_token: Option<String>,
}

/// What a page token carries.
#[derive(serde::Serialize, serde::Deserialize)]
struct Token {
    search: String,
    value: SortValue,
    id: Uuid,
    page: u64,
    total: u64,
}

impl Search {
    /// Parses a search, recording violations under `filters.incidentIds[0]`,
    /// `size`, `sort`, `pageToken`, ...
    pub fn parse(fields: SearchFields, tokens: &PageTokens) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let fingerprint = fingerprint(&fields);
        let filters = parse_filters(&mut v, fields.filters);
        let words = parse_words(&mut v, &fields.full_text);
        let sort = v.check("sort", parse_sort(&fields.sort));
        let size = match fields.size.map(u64::try_from) {
            None => Some(SIZE_DEFAULT),
            Some(Ok(size)) if (1..=SIZE_MAX).contains(&size) => Some(size),
            Some(_) => {
                v.add(
                    "size",
                    format!(
                        "must be between 1 and {SIZE_MAX}, got {}",
                        fields.size.unwrap_or_default()
                    ),
                );
                None
            }
        };
        let start = if fields.page_token.is_empty() {
            match u64::try_from(fields.page) {
                Ok(page) if size.is_none_or(|size| page * size < OFFSET_MAX) => Some(Start::Page(page)),
                Ok(_) => {
                    v.add(
                        "page",
                        format!("offset paging stops at {OFFSET_MAX} incidents; continue with pageToken"),
                    );
                    None
                }
                Err(_) => {
                    v.add("page", "must not be negative");
                    None
                }
            }
        } else {
            if fields.page != 0 {
                v.add("page", "must be left out with pageToken");
            }
            let token = decode_token(tokens, &fields.page_token).filter(|t| t.search == fingerprint);
            match token {
                Some(Token {
                    value, id, page, total, ..
                }) => Some(Start::After { value, id, page, total }),
                None => {
                    v.add("pageToken", "is not a page token of this search");
                    None
                }
            }
        };
        match (sort, size, start) {
            (Some(sort), Some(size), Some(start)) if v.is_empty() => Ok(Self {
                filters,
                words,
                sort,
                size,
                start,
                fingerprint,
            }),
            _ => Err(v),
        }
    }

    /// The number of the page this search reads.
    pub fn page(&self) -> u64 {
        match &self.start {
            Start::Page(page) => *page,
            Start::After { page, .. } => *page,
        }
    }

    /// Whether the search has neither filters nor words: every incident matches.
    pub fn matches_everything(&self) -> bool {
        self.filters == Filters::default() && self.words.is_empty()
    }

    /// The token of the page after this one, which ended with `last`; `total`
    /// (the matches counted now) travels with it, so later pages need no count.
    pub fn next_token(&self, tokens: &PageTokens, last: &Incident, total: u64) -> String {
        let value = match self.sort.key {
            SortKey::CreatedDate => SortValue::Time(last.created_at),
            SortKey::UpdatedDt => SortValue::Time(last.updated_at),
            SortKey::Name => SortValue::Text(last.name.clone()),
            SortKey::Number => SortValue::Number(last.number),
            SortKey::NotificationDeadline => SortValue::Time(guidance::sort_key(last)),
            SortKey::DateClosed => SortValue::Time(closed_sort_key(last)),
        };
        let token = Token {
            search: self.fingerprint.clone(),
            value,
            id: last.id,
            page: self.page().saturating_add(1),
            total,
        };
        tokens.seal(PURPOSE, &serde_json::to_vec(&token).unwrap_or_default())
    }
}

/// What search tokens are sealed for.
const PURPOSE: &str = "search";

fn decode_token(tokens: &PageTokens, token: &str) -> Option<Token> {
    serde_json::from_slice(&tokens.open(PURPOSE, token)?).ok()
}

/// A short hash of everything that decides which incidents match and in what order.
fn fingerprint(fields: &SearchFields) -> String {
    let json = serde_json::to_vec(&(&fields.filters, &fields.full_text, &fields.sort)).unwrap_or_default();
    hex::encode(&Sha256::digest(&json)[..12])
}

fn parse_sort(raw: &str) -> Result<Sort, String> {
    if raw.is_empty() {
        return Ok(Sort {
            key: SortKey::CreatedDate,
            descending: true,
        });
    }
    let (key, direction) = raw.split_once(',').unwrap_or((raw, "asc"));
    let key = match key {
        "createdDate" => Some(SortKey::CreatedDate),
        "name" => Some(SortKey::Name),
        "number" => Some(SortKey::Number),
        "updatedDT" => Some(SortKey::UpdatedDt),
        "notificationDeadline" => Some(SortKey::NotificationDeadline),
        "dateClosed" => Some(SortKey::DateClosed),
        _ => None,
    };
    let descending = match direction {
        "asc" => Some(false),
        "desc" => Some(true),
        _ => None,
    };
    match (key, descending) {
        (Some(key), Some(descending)) => Ok(Sort { key, descending }),
        _ => Err(format!(
            "must be createdDate, name, number, updatedDT, notificationDeadline or dateClosed, then ,asc or \
             ,desc; got {}",
            shorten(raw)
        )),
    }
}

/// The words of a full-text query: split at anything but letters and digits,
/// lower-cased, each once.
fn parse_words(v: &mut Violations, full_text: &str) -> Vec<String> {
    if full_text.chars().count() > FULL_TEXT_MAX {
        v.add("fullText", format!("at most {FULL_TEXT_MAX} characters"));
        return Vec::new();
    }
    let mut seen = HashSet::new();
    let words: Vec<String> = words_of(full_text).filter(|w| seen.insert(w.clone())).collect();
    if words.len() > WORDS_MAX {
        v.add("fullText", format!("at most {WORDS_MAX} words, got {}", words.len()));
    }
    words
}

fn words_of(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

fn parse_filters(v: &mut Violations, fields: FilterFields) -> Filters {
    let FilterFields {
        incident_ids,
        numbers,
        assignee_ids,
        incident_type_ids,
        org_group_ids,
        include_descendant_orgs,
        created_by,
        notification_needed,
        incident_status,
        source_type,
        date_occurred,
        date_discovered,
        deadline,
        created_dt,
        updated_dt,
        notification_due,
        stage_names,
    } = fields;
    let mut uuids = |name: &str, raw: Vec<String>| parse_list(v, name, raw, |s| parse_uuid(s));
    let incident_ids = uuids("incidentIds", incident_ids);
    let assignee_ids = uuids("assigneeIds", assignee_ids);
    let incident_type_ids = uuids("incidentTypeIds", incident_type_ids);
    let org_group_ids = uuids("orgGroupIds", org_group_ids);
    let created_by = uuids("createdBy", created_by);
    let numbers = parse_list(v, "numbers", numbers, |n| {
        if *n > 0 {
            Ok(*n)
        } else {
            Err(format!("must be at least 1, got {n}"))
        }
    });
    let notification_needed = parse_list(v, "notificationNeeded", notification_needed, |s| {
        parse_choice(
            Some(s),
            NotificationNeeded::Unknown,
            &[
                NotificationNeeded::Yes,
                NotificationNeeded::No,
                NotificationNeeded::Unknown,
            ],
        )
    });
    let incident_status = parse_list(v, "incidentStatus", incident_status, |s| {
        parse_choice(
            Some(s),
            IncidentStatus::Open,
            &[IncidentStatus::Open, IncidentStatus::Closed],
        )
    });
    let source_type = parse_list(v, "sourceType", source_type, |s| {
        parse_choice(
            Some(s),
            SourceType::Manual,
            &[
                SourceType::Manual,
                SourceType::Assessment,
                SourceType::Webform,
                SourceType::Integration,
                SourceType::None,
            ],
        )
    });
    let mut range = |name: &str, raw: Option<RangeFields>| parse_range(v, name, raw.unwrap_or_default());
    Filters {
        incident_ids,
        numbers,
        assignee_ids,
        incident_type_ids,
        org_group_ids,
        include_descendant_orgs,
        created_by,
        notification_needed,
        incident_status,
        source_type,
        date_occurred: range("dateOccurred", date_occurred),
        date_discovered: range("dateDiscovered", date_discovered),
        deadline: range("deadline", deadline),
        created_at: range("createdDT", created_dt),
        updated_at: range("updatedDT", updated_dt),
        notification_due: range("notificationDue", notification_due),
        stage_names: parse_list(v, "stageNames", stage_names, |s| {
            Name::parse_unique(s.clone()).map(|name| name.key())
        }),
    }
}

/// What a search sorts by `dateClosed`: the closing date, or for an open
/// incident the latest time the register keeps, after every closing date.
pub fn closed_sort_key(incident: &Incident) -> DateTime<Utc> {
    incident.date_closed.unwrap_or_else(guidance::latest)
}

/// Parses every value of one filter list, naming each bad one by its index.
fn parse_list<R, T>(v: &mut Violations, name: &str, raw: Vec<R>, parse: impl Fn(&R) -> Result<T, String>) -> Vec<T> {
    if raw.len() > FILTER_VALUES_MAX {
        v.add(
            format!("filters.{name}"),
            format!("at most {FILTER_VALUES_MAX} values, got {}", raw.len()),
        );
        return Vec::new();
    }
    raw.iter()
        .enumerate()
        .filter_map(|(i, value)| v.check(format!("filters.{name}[{i}]"), parse(value)))
        .collect()
}

fn parse_range(v: &mut Violations, name: &str, raw: RangeFields) -> TimeRange {
    let path = format!("filters.{name}");
    let from = raw.from.and_then(|t| v.check(format!("{path}.from"), parse_time(t)));
    let to = raw.to.and_then(|t| v.check(format!("{path}.to"), parse_time(t)));
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        v.add(format!("{path}.to"), "must not be before from");
    }
    TimeRange { from, to }
}

/// `roots` and every organization below them, given each organization's parent.
pub fn with_descendants(roots: &[Uuid], parents: &[(Uuid, Option<Uuid>)]) -> Vec<Uuid> {
    let mut children: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (id, parent) in parents {
        if let Some(parent) = parent {
            children.entry(*parent).or_default().push(*id);
        }
    }
    let mut found: HashSet<Uuid> = HashSet::new();
    let mut stack: Vec<Uuid> = roots.to_vec();
    while let Some(id) = stack.pop() {
        if found.insert(id) {
            stack.extend(children.get(&id).into_iter().flatten());
        }
    }
    found.into_iter().collect()
}

/// The text full-text search looks in: name, description, type name, assignee
/// names, organization name, root cause, creator and stage name.
pub fn search_document(incident: &Incident) -> String {
    let mut parts: Vec<&str> = vec![&incident.name];
    parts.extend(incident.description.as_deref());
    parts.push(&incident.incident_type.name);
    parts.extend(incident.assignees.iter().map(|a| a.assignee.name.as_str()));
    parts.push(&incident.organization.name);
    parts.extend(incident.root_cause.as_deref());
    parts.push(&incident.creator);
    parts.push(&incident.stage.stage.name);
    parts.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(fields: SearchFields) -> Result<Search, Vec<String>> {
        let tokens = crate::domain::token::for_tests(Uuid::nil());
        Search::parse(fields, &tokens).map_err(|v| v.into_vec().into_iter().map(|v| v.field.to_string()).collect())
    }

    #[test]
    fn a_size_given_must_be_one_to_the_maximum() {
        for size in [0, -1, 2001] {
            let fields = SearchFields {
                size: Some(size),
                ..Default::default()
            };
            assert_eq!(parse(fields).unwrap_err(), ["size"], "size {size}");
        }
        let largest = SearchFields {
            size: Some(2000),
            ..Default::default()
        };
        assert_eq!(parse(largest).unwrap().size, SIZE_MAX);
    }

    #[test]
    fn defaults_are_the_first_page_of_twenty_newest_first() {
        let search = parse(SearchFields::default()).unwrap();
        assert_eq!(search.size, SIZE_DEFAULT);
        assert_eq!(search.start, Start::Page(0));
        assert_eq!(
            search.sort,
            Sort {
                key: SortKey::CreatedDate,
                descending: true
            }
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let fields = SearchFields {
            filters: FilterFields {
                incident_ids: vec![Uuid::now_v7().to_string(), "nope".into()],
                numbers: vec![0],
                incident_status: vec!["OPEN".into(), "LOST".into()],
                ..Default::default()
            },
            size: Some(5000),
            sort: "severity,asc".into(),
            ..Default::default()
        };
        assert_eq!(
            parse(fields).unwrap_err(),
            [
                "filters.incidentIds[1]",
                "filters.numbers[0]",
                "filters.incidentStatus[1]",
                "sort",
                "size"
            ]
        );
    }

    #[test]
    fn offset_paging_stops_where_tokens_take_over() {
        let deep = SearchFields {
            page: 500,
            size: Some(20),
            ..Default::default()
        };
        assert_eq!(parse(deep).unwrap_err(), ["page"]);
    }

    #[test]
    fn words_are_lower_case_and_split_at_punctuation() {
        let mut v = Violations::new();
        assert_eq!(
            parse_words(&mut v, "E-Mail to  Joe's client, e-mail"),
            ["e", "mail", "to", "joe", "s", "client"]
        );
        assert!(v.is_empty());
    }

    #[test]
    fn descendants_include_the_roots_and_everything_below() {
        let (a, b, c, d) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let tree = [(a, None), (b, Some(a)), (c, Some(b)), (d, None)];
        let mut found = with_descendants(&[a], &tree);
        found.sort();
        let mut expected = vec![a, b, c];
        expected.sort();
        assert_eq!(found, expected);
    }
}
