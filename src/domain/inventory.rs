//! Links from an incident to inventory records (assets, processing activities,
//! vendors, entities), given when it is created or added and removed after.
//! incidentd keeps no inventory of its own, so links are recorded as given,
//! after checking their form.

use std::collections::BTreeMap;

use strum::{EnumString, IntoStaticStr};
use uuid::Uuid;

use super::{
    enums::{SourceType, parse_choice},
    error::{Error, Resource, Violations},
    path::FieldPath,
    text::{NAME_MAX, Name, parse_uuid, shorten},
};

/// Most ids (inventory and external together) under one inventory type.
pub const LINKS_PER_TYPE_MAX: usize = 100;

/// The inventory types of the original API, named as in its paths.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    EnumString,
    IntoStaticStr,
    strum::EnumIter,
    serde::Serialize,
    serde::Deserialize,
)]
#[strum(serialize_all = "kebab-case")]
pub enum InventoryType {
    Assets,
    ProcessingActivities,
    Vendors,
    Entities,
}

impl InventoryType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The links of one inventory type as they arrive.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct InventoryLinkRef {
    pub inventory_ids: Vec<String>,
    pub external_ids: Vec<String>,
    /// MANUAL, ASSESSMENT or INTEGRATION; absent means MANUAL.
    pub source_type: Option<String>,
}

/// The valid links of one inventory type.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InventoryLinks {
    pub inventory_type: InventoryType,
    pub inventory_ids: Vec<Uuid>,
    pub external_ids: Vec<String>,
    pub source_type: SourceType,
}

/// The create-only fields of the original API, as they arrive.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CreateOnlyFields {
    pub auto_assess_jurisdictions: bool,
    pub linked_inventories: BTreeMap<String, InventoryLinkRef>,
    /// Left out of a request's fingerprint when absent, so that the requests
    /// remembered before workflows existed keep theirs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
}

/// The create-only fields, parsed.
#[derive(Debug, Clone, Default)]
pub struct CreateOnly {
    pub auto_assess_jurisdictions: bool,
    pub linked_inventories: Vec<InventoryLinks>,
    /// The workflow to follow; `None`: the tenant's default one.
    pub workflow_id: Option<Uuid>,
}

impl CreateOnly {
    /// Parses the create-only fields, recording violations with their paths.
    pub fn parse(v: &mut Violations, fields: CreateOnlyFields) -> Self {
        let CreateOnlyFields {
            auto_assess_jurisdictions,
            linked_inventories,
            workflow_id,
        } = fields;
        Self {
            auto_assess_jurisdictions,
            linked_inventories: parse_links(v, linked_inventories),
            workflow_id: match workflow_id.filter(|w| !w.is_empty()) {
                None => None,
                Some(raw) => v.check("workflowId", parse_uuid(&raw)),
            },
        }
    }
}

/// The source types a link may give.
pub const LINK_SOURCE_TYPES: [SourceType; 3] = [SourceType::Manual, SourceType::Assessment, SourceType::Integration];

/// Parses `linkedInventories`, recording violations with their paths.
pub fn parse_links(v: &mut Violations, raw: BTreeMap<String, InventoryLinkRef>) -> Vec<InventoryLinks> {
    let mut parsed = Vec::with_capacity(raw.len());
    for (key, link) in raw {
        let Ok(inventory_type) = key.parse::<InventoryType>() else {
            // A key too long to be a name is reported at the map, not echoed back.
            let path = if key.chars().count() > NAME_MAX {
                FieldPath::from("linkedInventories")
            } else {
                link_path(&key)
            };
            v.add(
                path,
                "inventory types are assets, processing-activities, vendors and entities",
            );
            continue;
        };
        let path = link_path(&key);
        parsed.extend(parse_group(v, &path, &path, inventory_type, link));
    }
    parsed
}

/// One inventory type's links: violations of the whole at `whole`, of its
/// fields under `at` (`at.inventoryIds[0]`).
fn parse_group(
    v: &mut Violations,
    whole: &FieldPath,
    at: &FieldPath,
    inventory_type: InventoryType,
    link: InventoryLinkRef,
) -> Option<InventoryLinks> {
    let InventoryLinkRef {
        inventory_ids,
        external_ids,
        source_type,
    } = link;
    let count = inventory_ids.len() + external_ids.len();
    if count == 0 || count > LINKS_PER_TYPE_MAX {
        v.add(
            whole.clone(),
            format!("needs 1 to {LINKS_PER_TYPE_MAX} inventoryIds and externalIds, got {count}"),
        );
        return None;
    }
    let source_type = v.check(
        at.clone().field("sourceType"),
        parse_choice(source_type.as_deref(), SourceType::Manual, &LINK_SOURCE_TYPES),
    );
    let inventory_ids = distinct(v, &at.clone().field("inventoryIds"), inventory_ids, |raw| {
        parse_uuid(&raw)
    });
    let external_ids = distinct(v, &at.clone().field("externalIds"), external_ids, |raw| {
        Name::parse(raw).map(Name::into_inner)
    });
    Some(InventoryLinks {
        inventory_type,
        inventory_ids,
        external_ids,
        source_type: source_type?,
    })
}

/// The inventory type a path or a request names.
pub fn parse_inventory_type(raw: &str) -> Result<InventoryType, String> {
    raw.parse()
        .map_err(|_| "must be assets, processing-activities, vendors or entities".to_owned())
}

/// Links to add to an incident after its creation (`LinkInventory`), with
/// violations at `inventoryType`, `inventoryIds[0]`, `sourceType`.
pub fn parse_link(v: &mut Violations, inventory_type: &str, link: InventoryLinkRef) -> Option<InventoryLinks> {
    let inventory_type = v.check("inventoryType", parse_inventory_type(inventory_type))?;
    let whole = FieldPath::root().field("inventoryIds");
    parse_group(v, &whole, &FieldPath::root(), inventory_type, link)
}

/// `current` with the links of `new` added; a link it has already is kept, not
/// repeated. Refused when the type's links would be more than 100, or were
/// given with another source type.
pub fn link(current: &[InventoryLinks], new: InventoryLinks) -> Result<Vec<InventoryLinks>, Error> {
    let mut links = current.to_vec();
    let Some(group) = links.iter_mut().find(|l| l.inventory_type == new.inventory_type) else {
        links.push(new);
        return Ok(links);
    };
    if group.source_type != new.source_type {
        return Err(Error::invalid(
            "sourceType",
            format!(
                "the incident's {} links are {}: one source type per inventory type",
                group.inventory_type.as_str(),
                group.source_type.as_str()
            ),
        ));
    }
    for id in new.inventory_ids {
        if !group.inventory_ids.contains(&id) {
            group.inventory_ids.push(id);
        }
    }
    for id in new.external_ids {
        if !group.external_ids.contains(&id) {
            group.external_ids.push(id);
        }
    }
    let count = group.inventory_ids.len() + group.external_ids.len();
    if count > LINKS_PER_TYPE_MAX {
        return Err(Error::invalid(
            "inventoryIds",
            format!(
                "an incident links at most {LINKS_PER_TYPE_MAX} ids of one inventory type; these would make {count}"
            ),
        ));
    }
    Ok(links)
}

/// The links `requested` names, as `links` (an incident's) have them now.
pub fn as_linked(requested: &InventoryLinks, links: &[InventoryLinks]) -> InventoryLinks {
    let group = links.iter().find(|l| l.inventory_type == requested.inventory_type);
    InventoryLinks {
        inventory_type: requested.inventory_type,
        inventory_ids: requested
            .inventory_ids
            .iter()
            .filter(|id| group.is_some_and(|g| g.inventory_ids.contains(id)))
            .copied()
            .collect(),
        external_ids: requested
            .external_ids
            .iter()
            .filter(|id| group.is_some_and(|g| g.external_ids.contains(id)))
            .cloned()
            .collect(),
        source_type: group.map_or(requested.source_type, |g| g.source_type),
    }
}

/// `current` without the link to `id` (an inventory id, or else an external
/// id) of that type; NOT_FOUND when the incident has no such link.
pub fn unlink(
    current: &[InventoryLinks],
    incident_id: Uuid,
    inventory_type: InventoryType,
    id: &str,
) -> Result<Vec<InventoryLinks>, Error> {
    let mut links = current.to_vec();
    let group = links.iter_mut().find(|l| l.inventory_type == inventory_type);
    let removed = group.is_some_and(|group| {
        let before = group.inventory_ids.len() + group.external_ids.len();
        match parse_uuid(id) {
            Ok(uuid) if group.inventory_ids.contains(&uuid) => group.inventory_ids.retain(|i| *i != uuid),
            _ => group.external_ids.retain(|e| e != id),
        }
        group.inventory_ids.len() + group.external_ids.len() < before
    });
    if !removed {
        return Err(Error::NotFound {
            resource: Resource::InventoryLink,
            id: format!("{incident_id}/{}/{}", inventory_type.as_str(), shorten(id)),
        });
    }
    links.retain(|l| !(l.inventory_ids.is_empty() && l.external_ids.is_empty()));
    Ok(links)
}

fn link_path(key: &str) -> FieldPath {
    FieldPath::root().field("linkedInventories").key(key)
}

/// Parses each of `raw`, refusing repeats, with violations at `path[i]`.
fn distinct<T: PartialEq>(
    v: &mut Violations,
    path: &FieldPath,
    raw: Vec<String>,
    parse: impl Fn(String) -> Result<T, String>,
) -> Vec<T> {
    let mut parsed = Vec::with_capacity(raw.len());
    for (i, item) in raw.into_iter().enumerate() {
        match v.check(path.clone().index(i), parse(item)) {
            Some(value) if parsed.contains(&value) => v.add(path.clone().index(i), "repeats an earlier id"),
            Some(value) => parsed.push(value),
            None => {}
        }
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(raw: BTreeMap<String, InventoryLinkRef>) -> (Vec<InventoryLinks>, Vec<String>) {
        let mut v = Violations::new();
        let links = parse_links(&mut v, raw);
        (links, v.into_vec().into_iter().map(|v| v.field.to_string()).collect())
    }

    #[test]
    fn links_are_parsed_by_inventory_type() {
        let id = Uuid::now_v7();
        let raw = BTreeMap::from([(
            "processing-activities".to_owned(),
            InventoryLinkRef {
                inventory_ids: vec![id.to_string()],
                external_ids: vec!["PA-7".into()],
                source_type: None,
            },
        )]);
        let (links, violations) = fields(raw);
        assert!(violations.is_empty());
        assert_eq!(links[0].inventory_type, InventoryType::ProcessingActivities);
        assert_eq!(links[0].inventory_ids, [id]);
        assert_eq!(links[0].source_type, SourceType::Manual);
    }

    #[test]
    fn bad_links_name_their_path() {
        let raw = BTreeMap::from([
            (
                "servers".to_owned(),
                InventoryLinkRef {
                    external_ids: vec!["x".into()],
                    ..Default::default()
                },
            ),
            (
                "assets".to_owned(),
                InventoryLinkRef {
                    inventory_ids: vec!["nope".into()],
                    external_ids: vec!["A".into(), "A".into()],
                    source_type: Some("WEBFORM".into()),
                },
            ),
            ("vendors".to_owned(), InventoryLinkRef::default()),
        ]);
        let (_, violations) = fields(raw);
        assert_eq!(
            violations,
            [
                "linkedInventories[\"assets\"].sourceType",
                "linkedInventories[\"assets\"].inventoryIds[0]",
                "linkedInventories[\"assets\"].externalIds[1]",
                "linkedInventories[\"servers\"]",
                "linkedInventories[\"vendors\"]",
            ]
        );
    }
}
