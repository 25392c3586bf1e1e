//! The jurisdiction catalogue: every ISO 3166-1 country by alpha-3 code, with the
//! ISO 3166-2 states, territories and provinces of USA and CAN in place of the
//! countries themselves. Codes and names come from the `rust_iso3166` crate, the
//! continent of each country (`regionName`) from `keshvar`; ids are UUID v5 of the
//! codes, so they are the same for every tenant and every release.

use std::{collections::HashMap, sync::LazyLock};

use uuid::Uuid;

/// Countries whose jurisdictions are their states or provinces.
const SUBDIVIDED: [&str; 2] = ["USA", "CAN"];

/// Namespace of jurisdiction ids (a UUID v5 of "incidentd:jurisdiction" in the URL namespace).
static NAMESPACE: LazyLock<Uuid> = LazyLock::new(|| Uuid::new_v5(&Uuid::NAMESPACE_URL, b"incidentd:jurisdiction"));

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jurisdiction {
    pub id: Uuid,
    /// ISO 3166-1 alpha-3.
    pub country_code: &'static str,
    pub country_name: &'static str,
    /// The ISO 3166-2 code without its country prefix (`CA` for `US-CA`).
    pub state_province_code: Option<&'static str>,
    pub state_province_name: Option<&'static str>,
    /// The country's continent; empty for the few codes without one.
    pub region_name: &'static str,
}

struct Catalogue {
    entries: Vec<Jurisdiction>,
    by_id: HashMap<Uuid, usize>,
    /// Keyed by `USA-CA` or `DEU`, the same key the id is made from.
    by_code: HashMap<String, usize>,
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(build_catalogue);

fn build_catalogue() -> Catalogue {
    let mut entries = Vec::new();
    for country in rust_iso3166::ALL {
        if !SUBDIVIDED.contains(&country.alpha3) {
            entries.push(entry(country, None));
            continue;
        }
        for subdivision in country.subdivisions().unwrap_or_default() {
            entries.push(entry(country, Some(subdivision)));
        }
    }
    entries.sort_by(|a, b| (a.country_code, a.state_province_code).cmp(&(b.country_code, b.state_province_code)));
    let by_id = entries.iter().enumerate().map(|(i, j)| (j.id, i)).collect();
    let by_code = entries
        .iter()
        .enumerate()
        .map(|(i, j)| (code_key(j.country_code, j.state_province_code), i))
        .collect();
    Catalogue {
        entries,
        by_id,
        by_code,
    }
}

fn entry(
    country: &rust_iso3166::CountryCode,
    subdivision: Option<&rust_iso3166::iso3166_2::Subdivision>,
) -> Jurisdiction {
    let state_code = subdivision.map(|s| s.region_code);
    let key = code_key(country.alpha3, state_code);
    Jurisdiction {
        id: Uuid::new_v5(&NAMESPACE, key.as_bytes()),
        country_code: country.alpha3,
        country_name: country.name,
        state_province_code: state_code,
        state_province_name: subdivision.map(|s| s.name),
        region_name: continent(country.alpha3),
    }
}

fn continent(alpha3: &str) -> &'static str {
    use keshvar::Continent::*;
    match keshvar::Alpha3::try_from(alpha3).map(|code| code.to_country().continent()) {
        Ok(Africa) => "Africa",
        Ok(Antarctica) => "Antarctica",
        Ok(Asia) => "Asia",
        Ok(Australia) => "Australia",
        Ok(Europe) => "Europe",
        Ok(NorthAmerica) => "North America",
        Ok(SouthAmerica) => "South America",
        Err(_) => "",
    }
}

impl Jurisdiction {
    /// The code people read it by: `DEU`, or `USA-CA` for a state or province.
    pub fn code(&self) -> String {
        code_key(self.country_code, self.state_province_code)
    }
}

fn code_key(country: &str, state: Option<&str>) -> String {
    match state {
        Some(state) => format!("{country}-{state}"),
        None => country.to_owned(),
    }
}

/// Every jurisdiction, or those of one country, ordered by country and state code.
pub fn list(country_code: Option<&str>) -> Vec<Jurisdiction> {
    let wanted = country_code.map(str::to_ascii_uppercase);
    CATALOGUE
        .entries
        .iter()
        .filter(|j| wanted.as_deref().is_none_or(|c| j.country_code == c))
        .cloned()
        .collect()
}

/// The alpha-3 codes of every country of the catalogue, in order.
pub fn country_codes() -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = CATALOGUE.entries.iter().map(|j| j.country_code).collect();
    codes.dedup();
    codes
}

/// A jurisdiction by id.
pub fn by_id(id: Uuid) -> Option<&'static Jurisdiction> {
    CATALOGUE.by_id.get(&id).map(|&i| &CATALOGUE.entries[i])
}

/// The most individuals a jurisdiction's count may give: more than live on Earth.
pub const AFFECTED_INDIVIDUALS_MAX: i64 = 10_000_000_000;

/// A jurisdiction an incident impacts, with the individuals affected there
/// when the team knows their number (for rules with a threshold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Impacted {
    pub jurisdiction: &'static Jurisdiction,
    pub affected_individuals: Option<u64>,
}

/// Impacted jurisdictions kept in serialized incidents (`#[serde(with = ...)]`):
/// each by its id, or as `{id, affectedIndividuals}` when a count is known.
/// Answers stored before counts existed are ids alone, and still read.
pub mod by_ids {
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
    use uuid::Uuid;

    use super::Impacted;

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Kept {
        Id(Uuid),
        Counted {
            id: Uuid,
            #[serde(rename = "affectedIndividuals")]
            affected_individuals: u64,
        },
    }

    pub fn serialize<S: Serializer>(list: &[Impacted], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(list.iter().map(|impacted| match impacted.affected_individuals {
            None => Kept::Id(impacted.jurisdiction.id),
            Some(affected_individuals) => Kept::Counted {
                id: impacted.jurisdiction.id,
                affected_individuals,
            },
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Impacted>, D::Error> {
        Vec::<Kept>::deserialize(d)?
            .into_iter()
            .map(|kept| {
                let (id, affected_individuals) = match kept {
                    Kept::Id(id) => (id, None),
                    Kept::Counted {
                        id,
                        affected_individuals,
                    } => (id, Some(affected_individuals)),
                };
                let jurisdiction =
                    super::by_id(id).ok_or_else(|| D::Error::custom(format!("unknown jurisdiction {id}")))?;
                Ok(Impacted {
                    jurisdiction,
                    affected_individuals,
                })
            })
            .collect()
    }
}

/// A list's optional `countryCode` filter: empty is none, anything else must
/// be an alpha-3 country code.
pub fn country_filter(code: Option<&str>) -> Result<Option<&str>, super::Error> {
    match code.filter(|c| !c.is_empty()) {
        Some(code) if !is_country(code) => Err(super::Error::invalid(
            "countryCode",
            format!(
                "must be an ISO 3166 alpha-3 country code, got {}",
                super::text::shorten(code)
            ),
        )),
        code => Ok(code),
    }
}

/// The jurisdiction of these exact codes (`USA` and `CA`, `DEU` and none), as
/// the catalogue keeps them: upper case, a state for USA and CAN only.
pub fn by_code(country: &str, state: Option<&str>) -> Option<&'static Jurisdiction> {
    CATALOGUE
        .by_code
        .get(&code_key(country, state))
        .map(|&i| &CATALOGUE.entries[i])
}

/// Whether `code` is an alpha-3 country code of the catalogue (any case).
pub fn is_country(code: &str) -> bool {
    country(code).is_some()
}

/// The catalogue's alpha-3 code of the country `code` names (any case).
pub fn country(code: &str) -> Option<&'static str> {
    rust_iso3166::from_alpha3(&code.to_ascii_uppercase()).map(|country| country.alpha3)
}

/// A jurisdiction request as it arrives: every part optional.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct JurisdictionRef {
    pub jurisdiction_id: Option<String>,
    pub country_code: String,
    pub state_province_code: Option<String>,
    /// Left out of a request's fingerprint when absent, so that the requests
    /// remembered before counts existed keep theirs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affected_individuals: Option<i64>,
}

/// Finds the jurisdiction a request names. Violations name the sub-field
/// (`countryCode`, `stateProvinceCode`, `jurisdictionId`).
pub fn resolve(request: &JurisdictionRef) -> Result<&'static Jurisdiction, Vec<(&'static str, String)>> {
    let by_id = match request.jurisdiction_id.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => match super::text::parse_uuid(raw).map(by_id) {
            Ok(Some(found)) => Some(found),
            Ok(None) => return Err(vec![("jurisdictionId", "is not in the jurisdiction catalogue".into())]),
            Err(e) => return Err(vec![("jurisdictionId", e)]),
        },
    };
    let country = request.country_code.to_ascii_uppercase();
    let state = request
        .state_province_code
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_uppercase);
    if let Some(found) = by_id {
        return agree(found, &country, state.as_deref());
    }
    let country = if country.is_empty() { "USA".to_owned() } else { country };
    by_codes(&country, state.as_deref())
}

fn by_codes(country: &str, state: Option<&str>) -> Result<&'static Jurisdiction, Vec<(&'static str, String)>> {
    if !is_country(country) {
        return Err(vec![(
            "countryCode",
            format!(
                "must be an ISO 3166 alpha-3 country code such as USA or DEU, got {}",
                super::text::shorten(country)
            ),
        )]);
    }
    let subdivided = SUBDIVIDED.contains(&country);
    match (subdivided, state) {
        (true, None) => Err(vec![(
            "stateProvinceCode",
            format!("is required when countryCode is {country}"),
        )]),
        (false, Some(_)) => Err(vec![(
            "stateProvinceCode",
            format!("must be left out for {country}: only USA and CAN have state or province jurisdictions"),
        )]),
        _ => by_code(country, state).ok_or_else(|| {
            vec![(
                "stateProvinceCode",
                format!(
                    "{} is not a state or province of {country}",
                    super::text::shorten(state.unwrap_or_default())
                ),
            )]
        }),
    }
}

fn agree(
    found: &'static Jurisdiction,
    country: &str,
    state: Option<&str>,
) -> Result<&'static Jurisdiction, Vec<(&'static str, String)>> {
    let mut problems = Vec::new();
    if !country.is_empty() && country != found.country_code {
        problems.push((
            "countryCode",
            format!("does not match jurisdictionId, which is in {}", found.country_code),
        ));
    }
    if state.is_some() && state != found.state_province_code {
        problems.push(("stateProvinceCode", "does not match jurisdictionId".to_owned()));
    }
    if problems.is_empty() { Ok(found) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(country: &str, state: Option<&str>) -> JurisdictionRef {
        JurisdictionRef {
            jurisdiction_id: None,
            country_code: country.into(),
            state_province_code: state.map(Into::into),
            affected_individuals: None,
        }
    }

    #[test]
    fn usa_and_canada_need_a_state_that_belongs_to_them() {
        let california = resolve(&request("USA", Some("CA"))).unwrap();
        assert_eq!(california.state_province_name, Some("California"));
        assert_eq!(resolve(&request("CAN", Some("ON"))).unwrap().country_name, "Canada");
        assert_eq!(resolve(&request("USA", None)).unwrap_err()[0].0, "stateProvinceCode");
        assert_eq!(
            resolve(&request("CAN", Some("CA"))).unwrap_err()[0].0,
            "stateProvinceCode"
        );
    }

    #[test]
    fn other_countries_take_no_state() {
        assert_eq!(resolve(&request("DEU", None)).unwrap().country_name, "Germany");
        assert_eq!(
            resolve(&request("DEU", Some("BY"))).unwrap_err()[0].0,
            "stateProvinceCode"
        );
        assert_eq!(resolve(&request("XXX", None)).unwrap_err()[0].0, "countryCode");
        assert_eq!(resolve(&request("DE", None)).unwrap_err()[0].0, "countryCode");
    }

    #[test]
    fn country_defaults_to_usa() {
        assert_eq!(resolve(&request("", Some("NY"))).unwrap().country_code, "USA");
    }

    #[test]
    fn ids_are_stable_and_must_agree_with_codes() {
        let texas = resolve(&request("USA", Some("TX"))).unwrap();
        let by_id = JurisdictionRef {
            jurisdiction_id: Some(texas.id.to_string()),
            ..Default::default()
        };
        assert_eq!(resolve(&by_id).unwrap(), texas);
        let mismatch = JurisdictionRef {
            country_code: "CAN".into(),
            ..by_id
        };
        assert_eq!(resolve(&mismatch).unwrap_err()[0].0, "countryCode");
    }

    #[test]
    fn catalogue_lists_states_instead_of_subdivided_countries() {
        let usa = list(Some("usa"));
        assert!(usa.len() >= 50);
        assert!(usa.iter().all(|j| j.state_province_code.is_some()));
        assert_eq!(list(Some("FRA")).len(), 1);
    }

    #[test]
    fn every_country_has_its_continent() {
        assert_eq!(
            resolve(&request("CAN", Some("QC"))).unwrap().region_name,
            "North America"
        );
        assert_eq!(resolve(&request("BRA", None)).unwrap().region_name, "South America");
        assert_eq!(resolve(&request("JPN", None)).unwrap().region_name, "Asia");
        let unknown: Vec<_> = list(None)
            .into_iter()
            .filter(|j| j.region_name.is_empty())
            .map(|j| j.country_code)
            .collect();
        assert!(unknown.is_empty(), "countries without a continent: {unknown:?}");
    }
}
