//! What only the benchmark and the integration tests use (feature `bench`):
//! each makes a scratch database of its own. The store's part is in
//! `store/bench.rs`.

/// `base` (postgres://user@host:port/db?options) with its database replaced by `name`.
pub fn with_database(base: &str, name: &str) -> String {
    let (path, query) = base.split_once('?').map_or((base, None), |(p, q)| (p, Some(q)));
    let authority_end = path.find("://").map_or(0, |i| i + 3);
    let host_end = path[authority_end..]
        .find('/')
        .map_or(path.len(), |i| authority_end + i);
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    format!("{}/{name}{query}", &path[..host_end])
}
