//! Search Incidents: the search body and its query parameters, and the page of
//! summaries it answers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{incident::attribute_values, *};
use crate::domain::{
    search::{FilterFields, RangeFields, SearchFields, SearchPage},
    view::IncidentSummaryView,
};

/// The body of Search Incidents; paging and sorting are query parameters.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentSearch {
    pub filters: Option<SearchFilters>,
    /// Words that must all begin words of the incident (name, description, type,
    /// assignees, organization, root cause, creator, stage); case does not matter.
    pub full_text: Option<String>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

/// Every filter is a list of accepted values (any one matches); filters combine with AND.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchFilters {
    #[schema(value_type = Option<Vec<String>>)]
    pub incident_ids: Option<Vec<String>>,
    pub numbers: Option<Vec<i64>>,
    pub assignee_ids: Option<Vec<String>>,
    pub incident_type_ids: Option<Vec<String>>,
    pub org_group_ids: Option<Vec<String>>,
    /// `orgGroupIds` also match their descendant organizations.
    pub include_descendant_orgs: Option<bool>,
    pub created_by: Option<Vec<String>>,
    pub notification_needed: Option<Vec<String>>,
    pub incident_status: Option<Vec<String>>,
    pub source_type: Option<Vec<String>>,
    pub date_occurred: Option<TimeRange>,
    pub date_discovered: Option<TimeRange>,
    pub deadline: Option<TimeRange>,
    #[serde(rename = "createdDT")]
    pub created_dt: Option<TimeRange>,
    #[serde(rename = "updatedDT")]
    pub updated_dt: Option<TimeRange>,
    /// Incidents with a notification deadline still due (required or to be
    /// decided, nobody notified yet) in the range.
    pub notification_due: Option<TimeRange>,
    /// Incidents in a stage of one of these names (case-insensitively), in
    /// any workflow.
    pub stage_names: Option<Vec<String>>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

/// Both ends included; either may be absent.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct TimeRange {
    #[schema(schema_with = optional_time)]
    pub from: Option<Time>,
    #[schema(schema_with = optional_time)]
    pub to: Option<Time>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

impl KnownKeys for IncidentSearch {
    fn unknown_keys(&self, at: &FieldPath, found: &mut Vec<FieldPath>) {
        self.extra.refuse(at, found);
        let Some(filters) = &self.filters else { return };
        let at = at.clone().field("filters");
        filters.extra.refuse(&at, found);
        let ranges = [
            ("dateOccurred", &filters.date_occurred),
            ("dateDiscovered", &filters.date_discovered),
            ("deadline", &filters.deadline),
            ("createdDT", &filters.created_dt),
            ("updatedDT", &filters.updated_dt),
            ("notificationDue", &filters.notification_due),
        ];
        for (name, range) in ranges {
            if let Some(range) = range {
                range.extra.refuse(&at.clone().field(name), found);
            }
        }
    }
}

/// Paging and sorting of a search, from the query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// 0-based page number (default 0); page × size must stay below 10,000.
    #[param(minimum = 0)]
    pub page: Option<i32>,
    /// Page size, 1..2000 (default 20).
    #[param(minimum = 1, maximum = 2000)]
    pub size: Option<i32>,
    /// `createdDate`, `name`, `number`, `updatedDT`, `notificationDeadline`
    /// (the earliest deadline still due; none after every deadline) or
    /// `dateClosed` (open incidents after every closed one), then `,asc` or
    /// `,desc` (default `createdDate,desc`).
    pub sort: Option<String>,
    /// The `nextPageToken` of the previous page, for deep scans.
    pub page_token: Option<String>,
}

impl IncidentSearch {
    pub fn into_fields(self, params: SearchParams) -> SearchFields {
        let SearchFilters {
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
            extra: _,
        } = self.filters.unwrap_or_default();
        let range = |range: Option<TimeRange>| {
            range.map(|TimeRange { from, to, extra: _ }| RangeFields {
                from: from.map(Into::into),
                to: to.map(Into::into),
            })
        };
        SearchFields {
            filters: FilterFields {
                incident_ids: incident_ids.unwrap_or_default(),
                numbers: numbers.unwrap_or_default(),
                assignee_ids: assignee_ids.unwrap_or_default(),
                incident_type_ids: incident_type_ids.unwrap_or_default(),
                org_group_ids: org_group_ids.unwrap_or_default(),
                include_descendant_orgs: include_descendant_orgs.unwrap_or_default(),
                created_by: created_by.unwrap_or_default(),
                notification_needed: notification_needed.unwrap_or_default(),
                incident_status: incident_status.unwrap_or_default(),
                source_type: source_type.unwrap_or_default(),
                date_occurred: range(date_occurred),
                date_discovered: range(date_discovered),
                deadline: range(deadline),
                created_dt: range(created_dt),
                updated_dt: range(updated_dt),
                notification_due: range(notification_due),
                stage_names: stage_names.unwrap_or_default(),
            },
            full_text: self.full_text.unwrap_or_default(),
            page: params.page.unwrap_or_default(),
            size: params.size,
            sort: params.sort.unwrap_or_default(),
            page_token: params.page_token.unwrap_or_default(),
        }
    }
}

/// One page of a search, in the shape of a Spring Data page (`content`,
/// `totalElements`, ...), plus the token of the next page.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentPage {
    pub content: Vec<IncidentSummary>,
    pub total_elements: u64,
    pub total_pages: u64,
    /// This page's 0-based number.
    pub number: u64,
    pub size: u64,
    pub number_of_elements: usize,
    pub first: bool,
    pub last: bool,
    pub empty: bool,
    /// Give it as `pageToken` to read the next page; absent on the last page.
    pub next_page_token: Option<String>,
}

/// An incident as a search shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentSummary {
    pub incident_id: Uuid,
    pub number: i64,
    pub incident_type_id: Uuid,
    pub incident_type_name: String,
    pub name: String,
    pub description: Option<String>,
    #[schema(schema_with = source_type)]
    pub source_type: String,
    pub org_group_id: Uuid,
    pub org_group_name: String,
    pub date_occurred: Option<DateTime<Utc>>,
    pub date_discovered: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    pub date_closed: Option<DateTime<Utc>>,
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    pub total_assessment: i32,
    pub open_assessment: i32,
    pub is_extended: bool,
    pub is_deleted: bool,
    pub created_by: Uuid,
    pub creator: String,
    pub created_date: DateTime<Utc>,
    #[serde(rename = "updatedDT")]
    pub updated_dt: DateTime<Utc>,
    pub workflow_id: Uuid,
    pub workflow_name: String,
    pub incident_stage_id: Uuid,
    pub incident_stage_name: String,
    #[schema(schema_with = notification_needed)]
    pub notification_needed: String,
    #[schema(schema_with = incident_status)]
    pub incident_status: String,
    pub attribute_values: std::collections::BTreeMap<String, Vec<AttributeValue>>,
    pub revision: i64,
    /// The earliest deadline still due (required or to be decided, recipient
    /// not yet notified) in any of the incident's jurisdictions. Not in the
    /// original API.
    pub notification_deadline: Option<DateTime<Utc>>,
}

impl From<IncidentSummaryView> for IncidentSummary {
    fn from(view: IncidentSummaryView) -> Self {
        let IncidentSummaryView {
            id,
            number,
            incident_type,
            name,
            description,
            source_type,
            organization,
            date_occurred,
            date_discovered,
            deadline,
            date_closed,
            assignee,
            total_assessment,
            open_assessment,
            is_extended,
            is_deleted,
            created_by,
            creator,
            created_at,
            updated_at,
            stage,
            notification_needed,
            status,
            attribute_values: values,
            revision,
            notification_deadline,
        } = view;
        IncidentSummary {
            incident_id: id,
            number,
            incident_type_id: incident_type.id,
            incident_type_name: incident_type.name,
            name,
            description,
            source_type: source_type.as_str().to_owned(),
            org_group_id: organization.id,
            org_group_name: organization.name,
            date_occurred,
            date_discovered,
            deadline,
            date_closed,
            assignee_id: assignee.as_ref().map(|u| u.id),
            assignee_name: assignee.map(|u| u.name),
            total_assessment,
            open_assessment,
            is_extended,
            is_deleted,
            created_by,
            creator,
            created_date: created_at,
            updated_dt: updated_at,
            workflow_id: stage.workflow_id,
            workflow_name: stage.workflow_name,
            incident_stage_id: stage.stage_id,
            incident_stage_name: stage.stage_name,
            notification_needed: notification_needed.as_str().to_owned(),
            incident_status: status.as_str().to_owned(),
            attribute_values: attribute_values(values),
            revision,
            notification_deadline,
        }
    }
}

impl From<SearchPage> for IncidentPage {
    fn from(page: SearchPage) -> Self {
        let total_pages = page.total_elements.div_ceil(page.size.max(1));
        let content: Vec<IncidentSummary> = page
            .incidents
            .into_iter()
            .map(|i| IncidentSummaryView::from(i).into())
            .collect();
        IncidentPage {
            number_of_elements: content.len(),
            first: page.page == 0,
            last: page.next_page_token.is_none(),
            empty: content.is_empty(),
            content,
            total_elements: page.total_elements,
            total_pages,
            number: page.page,
            size: page.size,
            next_page_token: page.next_page_token,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::extract::{known_keys, parse_json};

    #[test]
    fn arrays_are_not_taken_for_objects_and_unknown_keys_are_named() {
        let refused = parse_json::<IncidentSearch>(br#"{"filters": {"updatedDT": [null, null]}}"#).unwrap_err();
        assert_eq!(refused.into_body().violations[0].field, "filters.updatedDT");
        let parsed: IncidentSearch =
            parse_json(br#"{"filters": {"updatedDT": {"from": null, "since": 1}, "unknown": 1}, "fullText": "x"}"#)
                .unwrap();
        assert_eq!(parsed.full_text.as_deref(), Some("x"));
        let fields: Vec<_> = known_keys(&parsed)
            .unwrap_err()
            .into_body()
            .violations
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["filters.unknown", "filters.updatedDT.since"]);
    }
}
