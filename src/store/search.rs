//! Searching incidents, and keeping the full-text index in step with them: the
//! index is written in the transaction that writes the incident.

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, IdenStatic, Order, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, Value,
    sea_query::{Expr, Query, SimpleExpr},
};
use uuid::Uuid;

use super::{
    ROWS_PER_INSERT, Store, db_error,
    entity::{incident, incident_deadline, organization, tenant, workflow_stage},
    load::{load_incidents, with_names},
};
use crate::domain::{
    Error,
    incident::Incident,
    search::{Filters, Search, SearchPage, SortKey, SortValue, Start, TimeRange, search_document, with_descendants},
    token::PageTokens,
};

/// Below this many matches, SQLite sorts the matches instead of walking the sort
/// index: sorting a few thousand rows beats testing a million.
const SORT_MATCHES_BELOW: u64 = 5_000;

/// Whether the incidents being indexed are new (SQLite then first gives each
/// its row id in `incident_search`) or were indexed before.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Indexed {
    New,
    Before,
}

/// Writes the full-text documents of `incidents`, replacing the ones they had, a
/// few hundred per statement.
pub(super) async fn index_documents(
    txn: &impl ConnectionTrait,
    incidents: &[Incident],
    indexed: Indexed,
) -> Result<(), Error> {
    let backend = txn.get_database_backend();
    for batch in incidents.chunks(ROWS_PER_INSERT) {
        let keys = || batch.iter().flat_map(|i| [Value::from(i.tenant_id), Value::from(i.id)]);
        let documents = || {
            batch.iter().flat_map(|i| {
                [
                    Value::from(i.tenant_id),
                    Value::from(i.id),
                    Value::from(search_document(i)),
                ]
            })
        };
        let statements = match backend {
            DbBackend::Postgres => vec![Statement::from_sql_and_values(
                backend,
                format!(
                    "INSERT INTO incident_search (tenant_id, incident_id, document) VALUES {} \
                     ON CONFLICT (tenant_id, incident_id) DO UPDATE SET document = excluded.document",
                    value_rows(backend, batch.len(), |[tenant, id, document]| {
                        format!("({tenant}, {id}, to_tsvector('simple', {document}))")
                    })
                ),
                documents(),
            )],
            _ => [
                (indexed == Indexed::New).then(|| {
                    Statement::from_sql_and_values(
                        backend,
                        format!(
                            "INSERT INTO incident_search (tenant_id, incident_id) VALUES {} ON CONFLICT DO NOTHING",
                            value_rows(backend, batch.len(), |[tenant, id]| format!("({tenant}, {id})"))
                        ),
                        keys(),
                    )
                }),
                Some(Statement::from_sql_and_values(
                    backend,
                    format!(
                        "INSERT OR REPLACE INTO incident_fts (rowid, document) \
                         SELECT s.search_id, v.column3 FROM (VALUES {}) AS v \
                         JOIN incident_search s ON s.tenant_id = v.column1 AND s.incident_id = v.column2",
                        value_rows(backend, batch.len(), |[tenant, id, document]| {
                            format!("({tenant}, {id}, {document})")
                        })
                    ),
                    documents(),
                )),
            ]
            .into_iter()
            .flatten()
            .collect(),
        };
        for statement in statements {
            txn.execute_raw(statement).await.map_err(db_error)?;
        }
    }
    Ok(())
}

/// `rows` rows of a VALUES list, each written by `row` from its `N` placeholders.
fn value_rows<const N: usize>(backend: DbBackend, rows: usize, row: impl Fn([String; N]) -> String) -> String {
    let mut next = 0;
    let mut placeholder = || {
        next += 1;
        match backend {
            DbBackend::Postgres => format!("${next}"),
            _ => "?".to_owned(),
        }
    };
    (0..rows)
        .map(|_| row(std::array::from_fn(|_| placeholder())))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// One page of the tenant's incidents that match `search`, in one snapshot.
    pub async fn search_incidents(
        &self,
        tenant_id: Uuid,
        search: Search,
        tokens: &PageTokens,
    ) -> Result<SearchPage, Error> {
        let txn = self.read().await?;
        let backend = txn.get_database_backend();
        let mut filters = search.filters.clone();
        if filters.include_descendant_orgs && !filters.org_group_ids.is_empty() {
            let tree: Vec<(Uuid, Option<Uuid>)> = organization::Entity::find()
                .filter(organization::Column::TenantId.eq(tenant_id))
                .select_only()
                .column(organization::Column::Id)
                .column(organization::Column::ParentId)
                .into_tuple()
                .all(&txn)
                .await
                .map_err(db_error)?;
            filters.org_group_ids = with_descendants(&filters.org_group_ids, &tree);
        }
        let matching = matching(backend, tenant_id, &filters, &search.words);
        // Counting a million matches takes longer than finding a page of them, so
        // the count is taken once per search: later pages carry it in their token,
        // and "everything" is the tenant's incident count, which the numbering keeps
        // (incidents are never deleted).
        let total_elements = match &search.start {
            Start::After { total, .. } => *total,
            Start::Page(_) if search.matches_everything() => tenant::Entity::find_by_id(tenant_id)
                .one(&txn)
                .await
                .map_err(db_error)?
                .map_or(0, |t| t.last_incident_number.unsigned_abs()),
            Start::Page(_) => incident::Entity::find()
                .filter(matching.clone())
                .count(&txn)
                .await
                .map_err(db_error)?,
        };

        let column = match search.sort.key {
            SortKey::CreatedDate => incident::Column::CreatedAt,
            SortKey::Name => incident::Column::Name,
            SortKey::Number => incident::Column::Number,
            SortKey::UpdatedDt => incident::Column::UpdatedAt,
            SortKey::NotificationDeadline => incident::Column::NotificationDue,
            SortKey::DateClosed => incident::Column::ClosedSort,
        };
        let order = if search.sort.descending {
            Order::Desc
        } else {
            Order::Asc
        };
        let query = incident::Entity::find().filter(matching);
        // SQLite's planner likes to walk the sort column's index and test every row
        // against the filters, which reads the whole register when few rows match.
        // The count just taken tells: when few match, the sort key is wrapped in a
        // no-op (`+col`), so the filters' indexes find the rows and they are sorted.
        let query = if backend == DbBackend::Sqlite && total_elements < SORT_MATCHES_BELOW {
            let name = column.as_str();
            query.order_by(Expr::cust(format!("+\"incident\".\"{name}\"")), order.clone())
        } else {
            query.order_by(column, order.clone())
        };
        let mut query = query.order_by(incident::Column::Id, order).limit(search.size + 1);
        match &search.start {
            Start::Page(page) => query = query.offset(page * search.size),
            Start::After { value, id, .. } => {
                query = query.filter(after(column, search.sort.descending, value, *id));
            }
        }
        let mut rows = with_names(query).all(&txn).await.map_err(db_error)?;
        let more = rows.len() as u64 > search.size;
        rows.truncate(search.size as usize);
        let incidents = load_incidents(&txn, tenant_id, rows).await?;
        txn.commit().await.map_err(db_error)?;
        let next_page_token = incidents
            .last()
            .filter(|_| more)
            .map(|last| search.next_token(tokens, last, total_elements));
        Ok(SearchPage {
            incidents,
            total_elements,
            page: search.page(),
            size: search.size,
            next_page_token,
        })
    }
}

/// The incidents of the tenant that pass every filter and contain every word.
fn matching(backend: DbBackend, tenant_id: Uuid, filters: &Filters, words: &[String]) -> Condition {
    use incident::Column as C;
    let Filters {
        incident_ids,
        numbers,
        assignee_ids,
        incident_type_ids,
        org_group_ids,
        include_descendant_orgs: _,
        created_by,
        notification_needed,
        incident_status,
        source_type,
        date_occurred,
        date_discovered,
        deadline,
        created_at,
        updated_at,
        notification_due,
        stage_names,
    } = filters;
    let mut all = Condition::all().add(C::TenantId.eq(tenant_id));
    let names = |values: Vec<&'static str>| values.into_iter().map(str::to_owned).collect::<Vec<_>>();
    if !incident_ids.is_empty() {
        all = all.add(C::Id.is_in(incident_ids.iter().copied()));
    }
    if !numbers.is_empty() {
        all = all.add(C::Number.is_in(numbers.iter().copied()));
    }
    if !incident_type_ids.is_empty() {
        all = all.add(C::IncidentTypeId.is_in(incident_type_ids.iter().copied()));
    }
    if !org_group_ids.is_empty() {
        all = all.add(C::OrgGroupId.is_in(org_group_ids.iter().copied()));
    }
    if !created_by.is_empty() {
        all = all.add(C::CreatedBy.is_in(created_by.iter().copied()));
    }
    if !notification_needed.is_empty() {
        all = all.add(C::NotificationNeeded.is_in(names(notification_needed.iter().map(|n| n.as_str()).collect())));
    }
    if !incident_status.is_empty() {
        all = all.add(C::Status.is_in(names(incident_status.iter().map(|s| s.as_str()).collect())));
    }
    if !source_type.is_empty() {
        all = all.add(C::SourceType.is_in(names(source_type.iter().map(|s| s.as_str()).collect())));
    }
    for (column, range) in [
        (C::DateOccurred, date_occurred),
        (C::DateDiscovered, date_discovered),
        (C::Deadline, deadline),
        (C::CreatedAt, created_at),
        (C::UpdatedAt, updated_at),
    ] {
        all = all.add(within(column, range));
    }
    if *notification_due != TimeRange::default() {
        all = all.add(due_within(tenant_id, notification_due));
    }
    if !stage_names.is_empty() {
        all = all.add(in_stages(tenant_id, stage_names));
    }
    if !assignee_ids.is_empty() {
        all = all.add(any_assignee(backend, tenant_id, assignee_ids));
    }
    if !words.is_empty() {
        all = all.add(full_text(backend, tenant_id, words));
    }
    all
}

/// Rows whose `column` is in `range`, both ends included.
fn within(column: impl ColumnTrait, range: &TimeRange) -> Condition {
    let TimeRange { from, to } = range;
    let mut all = Condition::all();
    if let Some(from) = from {
        all = all.add(column.gte(*from));
    }
    if let Some(to) = to {
        all = all.add(column.lte(*to));
    }
    all
}

/// Incidents with a deadline still due in `range` (both ends included).
fn due_within(tenant_id: Uuid, range: &TimeRange) -> SimpleExpr {
    use incident_deadline::Column as D;
    let deadlines = Query::select()
        .column(D::IncidentId)
        .from(incident_deadline::Entity)
        .cond_where(within(D::Deadline, range).add(D::TenantId.eq(tenant_id)))
        .to_owned();
    incident::Column::Id.in_subquery(deadlines)
}

/// Incidents in a stage of one of these names (keys), in any workflow.
fn in_stages(tenant_id: Uuid, keys: &[String]) -> SimpleExpr {
    use workflow_stage::Column as S;
    let stages = Query::select()
        .column(S::Id)
        .from(workflow_stage::Entity)
        .cond_where(
            Condition::all()
                .add(S::TenantId.eq(tenant_id))
                .add(S::NameKey.is_in(keys.iter().cloned())),
        )
        .to_owned();
    incident::Column::StageId.in_subquery(stages)
}

/// Incidents with any of the assignees.
fn any_assignee(backend: DbBackend, tenant_id: Uuid, assignee_ids: &[Uuid]) -> SimpleExpr {
    let placeholders: Vec<String> = (0..assignee_ids.len())
        .map(|i| match backend {
            DbBackend::Postgres => format!("${}", i + 2),
            _ => "?".to_owned(),
        })
        .collect();
    let tenant = if backend == DbBackend::Postgres { "$1" } else { "?" };
    let sql = format!(
        "\"incident\".\"id\" IN (SELECT incident_id FROM incident_assignee \
         WHERE tenant_id = {tenant} AND assignee_id IN ({}))",
        placeholders.join(", ")
    );
    let values = std::iter::once(Value::from(tenant_id)).chain(assignee_ids.iter().map(|id| Value::from(*id)));
    Expr::cust_with_values(sql, values)
}

/// Incidents whose document has, for every word, a word that begins with it.
/// Words are letters and digits only, so they cannot carry query syntax.
fn full_text(backend: DbBackend, tenant_id: Uuid, words: &[String]) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => {
            let query: Vec<String> = words.iter().map(|w| format!("{w}:*")).collect();
            // `= ANY(ARRAY(...))` runs the GIN lookup once and finds its few
            // incidents by key; as `IN`, the planner hash-joined it against a scan of
            // every incident (723 ms at a million).
            Expr::cust_with_values(
                "\"incident\".\"id\" = ANY(ARRAY(SELECT incident_id FROM incident_search \
                 WHERE tenant_id = $1 AND document @@ to_tsquery('simple', $2)))",
                [Value::from(tenant_id), Value::from(query.join(" & "))],
            )
        }
        _ => {
            let query: Vec<String> = words.iter().map(|w| format!("\"{w}\"*")).collect();
            // The FTS5 lookup must run once, as the innermost query: joined, SQLite
            // may run it once per row of the other side.
            Expr::cust_with_values(
                "\"incident\".\"id\" IN (SELECT s.incident_id FROM incident_search s \
                 WHERE s.tenant_id = ? AND s.search_id IN \
                 (SELECT rowid FROM incident_fts WHERE incident_fts MATCH ?))",
                [Value::from(tenant_id), Value::from(query.join(" "))],
            )
        }
    }
}

/// The rows after `(value, id)` in the sort order: keyset paging.
fn after(column: incident::Column, descending: bool, value: &SortValue, id: Uuid) -> Condition {
    let value: Value = match value {
        SortValue::Time(at) => (*at).into(),
        SortValue::Text(text) => text.clone().into(),
        SortValue::Number(number) => (*number).into(),
    };
    let (beyond, id_beyond) = if descending {
        (column.lt(value.clone()), incident::Column::Id.lt(id))
    } else {
        (column.gt(value.clone()), incident::Column::Id.gt(id))
    };
    Condition::any()
        .add(beyond)
        .add(Condition::all().add(column.eq(value)).add(id_beyond))
}
