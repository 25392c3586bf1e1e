//! An incident's history: pages of revisions, each with its changed fields.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::revision::{self, Revision, RevisionList};

/// Paging of an incident's history, from the query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct RevisionParams {
    /// Revisions per page (0 or absent: 20; above 100: 100).
    #[param(minimum = 0)]
    pub page_size: Option<i32>,
    /// The `nextPageToken` of the previous page.
    pub page_token: Option<String>,
}

/// One page of an incident's history, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionPage {
    pub revisions: Vec<IncidentRevision>,
    /// Absent on the last page.
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentRevision {
    pub revision: i64,
    pub time: DateTime<Utc>,
    pub actor_id: Uuid,
    pub actor_name: String,
    pub request_id: Option<Uuid>,
    pub changes: Vec<FieldChange>,
    /// The justification given with a stage move, if any.
    pub justification: Option<String>,
}

/// One field of the body before and after the revision (`null` when unset), or
/// `notifications`: the notification a recipient got before and after.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldChange {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

impl From<RevisionList> for RevisionPage {
    fn from(list: RevisionList) -> Self {
        RevisionPage {
            revisions: list
                .revisions
                .into_iter()
                .map(|revision| {
                    let Revision {
                        revision,
                        at,
                        actor_id,
                        actor_name,
                        request_id,
                        changes,
                        justification,
                    } = revision;
                    IncidentRevision {
                        revision,
                        time: at,
                        actor_id,
                        actor_name,
                        request_id,
                        changes: changes
                            .into_iter()
                            .map(|revision::FieldChange { field, before, after }| FieldChange { field, before, after })
                            .collect(),
                        justification,
                    }
                })
                .collect(),
            next_page_token: list.next_page_token,
        }
    }
}
